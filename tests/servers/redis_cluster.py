"""A real Redis Cluster on loopback: 3 masters and 3 replicas of Debian's redis-server.

Each node is a ``redis-server --cluster-enabled yes`` child process on a random free port
(its cluster bus on a second one, ``cluster-port``), in one temporary directory; the
cluster is joined with ``redis-cli --cluster create --cluster-replicas 1``. The tests'
production shape, the failover scenario and the fan-out benchmark start it with::

    cluster = RedisCluster().start()   # cluster.url == "redis+cluster://127.0.0.1:<port>"
    ...
    cluster.stop()

or from a shell (prints the URL, runs until Ctrl-C)::

    python -m tests.servers.redis_cluster [--masters 3] [--replicas 1]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import redis

from app.redis_server import _die_with_parent, free_port, redis_binary


@dataclass
class Node:
    """One cluster node: its process, client port and bus port."""

    port: int
    bus_port: int
    directory: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=1,
                           decode_responses=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class RedisCluster:
    """``masters`` masters with ``replicas`` replicas each, all on 127.0.0.1."""

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000,
                 directory: str | None = None, maxmemory: str | None = None) -> None:
        self.masters, self.replicas = masters, replicas
        self.node_timeout_ms = node_timeout_ms
        self.maxmemory = maxmemory
        self.directory = directory or tempfile.mkdtemp(prefix="redis-cluster-")
        self._own_directory = directory is None
        self.nodes: list[Node] = []

    @property
    def url(self) -> str:
        """The URL the app takes in ``REDIS_URL`` (any live node is a seed)."""
        seed = next((n for n in self.nodes if n.alive()), self.nodes[0])
        return f"redis+cluster://{seed.address}"

    # -- life cycle ---------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> RedisCluster:
        if not shutil.which("redis-cli"):
            raise RuntimeError("redis-cli is missing: apt-get install redis-server (Debian's, 7.x)")
        atexit.register(self.stop)
        ports = self._free_ports(2 * self.masters * (1 + self.replicas))
        for i in range(0, len(ports), 2):
            node = Node(ports[i], ports[i + 1], os.path.join(self.directory, str(ports[i])))
            self._spawn(node)
            self.nodes.append(node)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            self._wait(lambda n=node: n.client().ping(), deadline, f"node {node.address}")
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(n.address for n in self.nodes),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        self._wait(self.healthy, deadline, "the cluster to cover every slot on every node")
        return self

    def stop(self) -> None:
        for node in self.nodes:
            self._terminate(node)
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _spawn(self, node: Node) -> None:
        os.makedirs(node.directory, exist_ok=True)
        args = [
            redis_binary(), "--port", str(node.port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-port", str(node.bus_port),
            "--cluster-config-file", os.path.join(node.directory, "nodes.conf"),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # a replica takes over however long its master was gone (a test cluster's
            # masters are killed on purpose, sometimes soon after it formed)
            "--cluster-replica-validity-factor", "0",
            "--save", "", "--appendonly", "no", "--dir", node.directory,
            "--protected-mode", "yes", "--loglevel", "warning",
            "--logfile", os.path.join(node.directory, "redis.log"),
            # as app/redis_server.py: timelines (<= 800 entries) stay in the compact encoding
            "--zset-max-ziplist-entries", "1024",
        ]
        if self.maxmemory:
            args += ["--maxmemory", self.maxmemory]
        node.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=_die_with_parent)

    @staticmethod
    def _terminate(node: Node, sig: int = signal.SIGTERM) -> None:
        if node.alive():
            node.process.send_signal(sig)
            try:
                node.process.wait(5)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    @staticmethod
    def _free_ports(count: int) -> list[int]:
        ports: set[int] = set()
        while len(ports) < count:
            ports.add(free_port())
        return sorted(ports)

    @staticmethod
    def _wait(predicate, deadline: float, what: str) -> None:
        while True:
            try:
                if predicate():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis cluster: timed out waiting for {what}")
            time.sleep(0.1)

    # -- state --------------------------------------------------------------------------

    def healthy(self) -> bool:
        """Every live node sees the cluster ok, with every slot served by a live master, and
        every live replica has synced with its master (so it can take over)."""
        for node in self.nodes:
            if not node.alive():
                continue
            client = node.client()
            info = client.cluster("info")
            if info.get("cluster_state") != "ok" or int(info.get("cluster_slots_ok", 0)) != 16384:
                return False
            replication = client.info("replication")
            if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                return False
        return len(self.master_nodes()) == self.masters

    def master_nodes(self) -> list[Node]:
        """The live nodes that are masters now (replicas promoted after a failover count)."""
        found = []
        for node in self.nodes:
            if node.alive():
                try:
                    if node.client().info("replication")["role"] == "master":
                        found.append(node)
                except redis.RedisError:
                    continue
        return found

    # -- faults -------------------------------------------------------------------------

    def kill_master(self, index: int = 0) -> Node:
        """SIGKILL a master (no goodbye to the cluster): its replica takes over after the
        node timeout."""
        node = self.master_nodes()[index]
        self._terminate(node, signal.SIGKILL)
        return node

    def wait_failover(self, timeout: float = 30.0) -> float:
        """Seconds until every slot is served again (a replica promoted)."""
        started = time.monotonic()
        self._wait(self.healthy, started + timeout, "a replica to take over the killed master")
        return time.monotonic() - started

    def restart(self, node: Node, timeout: float = 30.0) -> None:
        """Start a killed node again: it rejoins (from its nodes.conf) as a replica."""
        self._spawn(node)
        deadline = time.monotonic() + timeout
        self._wait(lambda: node.client().ping(), deadline, f"node {node.address}")
        self._wait(lambda: node.client().cluster("info").get("cluster_state") == "ok",
                   deadline, f"node {node.address} to rejoin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    cluster = RedisCluster(args.masters, args.replicas).start()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    print(cluster.url, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
