"""The processes of the topology: start, kill (SIGKILL), stop and start again, by name.

Each Procfile line runs as its own process (``bash -c 'exec <line>'``, so the pid is the
gunicorn master or the celery process itself), in its own process group, with one shared
environment: ``MONGODB_URI`` on the mongoeco server, ``REDIS_URL`` on the redis-server, one
``VAR_DIR`` (local media and the search index are shared files, as on one host).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from app.redis_server import RedisServer, free_port
from bench.faults.harness import ROOT, ScenarioFailed, wait_for
from tests.servers.mongoeco import python as mongoeco_python

BIN = ROOT / ".venv" / "bin"

NGINX_CONF = """{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

    # From the README (Serving live updates), with this run's ports.
    upstream fanhub_live {{
        ip_hash;                       # a Socket.IO session stays in one process
{live_servers}
    }}
    upstream fanhub_api {{
{api_servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 600m;     # MEDIA_MAX_BYTES plus multipart overhead

        location /socket.io/ {{
            proxy_pass http://fanhub_live;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 120s;   # above the Socket.IO ping interval + timeout
            proxy_buffering off;
        }}
        location / {{
            proxy_pass http://fanhub_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_request_buffering off;   # stream uploads
        }}
    }}
}}
"""


def _die_with_parent() -> None:
    """Linux: SIGKILL the child when the runner dies, so no process outlives a stopped run."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and ":" in line)


class Proc:
    """One process of the topology, restartable under the same name."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.command, self.env = name, command, env
        self.log = logs / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Proc:
        with open(self.log, "ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    def signal(self, signum: int, group: bool = False) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                (os.killpg if group else os.kill)(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the process itself (a crash: nothing gets to clean up), then reap it and
        whatever it left in its process group."""
        if self.process is None:
            return
        self.signal(signal.SIGKILL)
        self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def stop(self, timeout: float = 20) -> None:
        if self.process is None:
            return
        self.signal(signal.SIGTERM, group=True)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


class Topology:
    """mongoeco + redis-server + the Procfile's processes + nginx, on free ports."""

    def __init__(self, root: Path, webs: int = 2, lives: int = 1, **env: str) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.var = root / "var"
        self.mongo_port, self.nginx_port = free_port(), free_port()
        self.redis = RedisServer(port=free_port())
        self.mongo_uri = f"mongodb://127.0.0.1:{self.mongo_port}/fanhub?directConnection=true"
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("ELASTICSEARCH_URL", "S3_BUCKET")},
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT),
            "MONGODB_URI": self.mongo_uri, "REDIS_URL": self.redis.url,
            "SECRET_KEY": "topology-proof", "VAR_DIR": str(self.var),
            "MEDIA_DIR": str(self.var / "media"), "UPLOAD_DIR": str(self.var / "uploads"),
            "SEARCH_DIR": str(self.var / "search"), "DEMO_DATA": "0", "HOST": "127.0.0.1",
            "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024",
            "MONGODB_COMMAND_STATS": "1",
            # URLs in bodies name nginx's address (the README's config passes `Host $host`,
            # which drops a port other than 80)
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.nginx_port}", **env,
        }
        lines = procfile()
        self.procs: dict[str, Proc] = {}
        self.web_ports = [free_port() for _ in range(webs)]
        self.live_ports = [free_port() for _ in range(lives)]
        for i, port in enumerate(self.web_ports, 1):
            self.procs[f"web{i}"] = self._proc(f"web{i}", lines["web"], PORT=str(port))
        for i, port in enumerate(self.live_ports, 1):
            self.procs[f"live{i}"] = self._proc(f"live{i}", lines["live"], PORT=str(port))
        self.procs["worker"] = self._proc("worker", lines["worker"])
        self.procs["beat"] = self._proc("beat", lines["beat"])
        self.mongo = Proc("mongo", [mongoeco_python(), str(ROOT / "bench/topology/mongo_server.py"),
                                    "--port", str(self.mongo_port)], self.env, self.logs)
        self.nginx: Proc | None = None

    def _proc(self, name: str, line: str, **extra: str) -> Proc:
        return Proc(name, ["bash", "-c", f"exec env {line.strip()}"], {**self.env, **extra},
                    self.logs)

    def extra(self, name: str, line: str, **env: str) -> Proc:
        """One more process (a web with a fault injected, a second beat)."""
        proc = self._proc(name, line, **env)
        self.procs[name] = proc
        return proc

    # -------------------------------------------------------------- start and stop

    def start(self) -> Topology:
        self.var.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.mongo.start()
        wait_for(self.mongo_up, 60, "the mongoeco server")
        for proc in self.procs.values():
            proc.start()
        for port in self.web_ports + self.live_ports:
            wait_for(lambda p=port: self._answers(p), 120, f"the web process on {port}")
        self._start_nginx()
        wait_for(lambda: requests.get(self.url + "/healthz", timeout=10).status_code == 200, 120,
                 "/healthz 200 through nginx (every component up, a worker answering)")
        return self

    def _answers(self, port: int) -> bool:
        for proc in self.procs.values():
            if proc.process is not None and proc.process.poll() is not None:
                raise ScenarioFailed(f"{proc.name} exited; see {proc.log}")
        return requests.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=10).ok

    def mongo_up(self) -> bool:
        import pymongo

        client = pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    def _start_nginx(self) -> None:
        prefix = self.root / "nginx"
        for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            user="user root;\n" if os.geteuid() == 0 else "", prefix=prefix, port=self.nginx_port,
            live_servers="\n".join(f"        server 127.0.0.1:{p};" for p in self.live_ports),
            api_servers="\n".join(f"        server 127.0.0.1:{p};" for p in self.web_ports)))
        self.nginx = Proc("nginx", ["nginx", "-p", str(prefix), "-c", str(conf), "-g",
                                    "daemon off;"], self.env, self.logs).start()
        wait_for(lambda: requests.get(self.url + "/api/openapi.json", timeout=5).ok, 30,
                 f"nginx on {self.url} (see {prefix}/error.log)")

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        for proc in self.procs.values():
            proc.stop()
        self.mongo.stop()
        self.redis.stop()

    # -------------------------------------------------------------- helpers

    def redis_client(self):
        import redis

        return redis.Redis.from_url(self.redis.url, decode_responses=True)

    def mongo_db(self):
        import pymongo

        return pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=5000,
                                   tz_aware=True).get_default_database()

    def worker_up(self) -> bool:
        """The worker answers a Celery ping (it consumes again)."""
        body = requests.get(self.url + "/healthz", timeout=15).json()
        return body["components"].get("worker", {}).get("status") == "ok"
