"""A mongoeco wire server: a MongoDB-protocol server in its own process, for the suite's
``production`` shape, the Procfile topology and anything else that needs a MongoDB here.

mongoeco needs Python >= 3.13 while the app runs on 3.11, so the server runs from its own
virtual environment (``make mongoeco``, pinned in ``requirements-mongoeco.txt``) and this
module is both sides:

- in the app's Python, ``MongoecoServer(...).start()`` launches it and ``.stop()`` ends it;
  ``.uri`` is what ``MONGODB_URI`` takes;
- ``python -m tests.servers.mongoeco --port N [--sqlite FILE]`` runs the server in the
  foreground (from the app's venv it re-executes itself in ``.venv-mongoeco``); SIGTERM or
  SIGINT closes it.

The engine is mongoeco's ``MemoryEngine`` unless ``--sqlite FILE`` asks for its ``SQLiteEngine``
(kept on disk across restarts). Both are pure Python: they prove behaviour, not MongoDB's speed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-mongoeco"


def python() -> str:
    """The interpreter that has mongoeco: ``MONGOECO_PYTHON`` or ``.venv-mongoeco``'s."""
    found = os.environ.get("MONGOECO_PYTHON") or str(VENV / "bin" / "python")
    if not Path(found).exists():
        raise RuntimeError(
            f"mongoeco's Python is missing ({found}): run `make mongoeco` (it needs Python "
            "3.13, e.g. pyenv's /root/.pyenv/versions/3.13.0) or set MONGOECO_PYTHON")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: SIGTERM the server when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class MongoecoServer:
    """One mongoeco wire server child process; ``uri`` answers once ``start()`` returns."""

    def __init__(self, port: int | None = None, sqlite: str | os.PathLike | None = None,
                 log: str | os.PathLike | None = None) -> None:
        self.port = port or free_port()
        self.sqlite = str(sqlite) if sqlite else None
        self.log = Path(log) if log else None
        self.process: subprocess.Popen | None = None

    def uri(self, database: str = "fanhub") -> str:
        return f"mongodb://127.0.0.1:{self.port}/{database}?directConnection=true"

    def start(self, timeout: float = 30.0) -> MongoecoServer:
        command = [python(), "-m", "tests.servers.mongoeco", "--port", str(self.port)]
        if self.sqlite:
            command += ["--sqlite", self.sqlite]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True,  # Ctrl-C reaches its owner, who stops it
                preexec_fn=_die_with_parent)
        finally:
            if self.log:
                out.close()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the mongoeco server did not start (see {self.log or 'its stderr'})")
            time.sleep(0.05)
        return self

    def ready(self) -> bool:
        """True once the server answers a ``ping`` over the wire."""
        import pymongo

        client = pymongo.MongoClient(self.uri(), serverSelectionTimeoutMS=300, connectTimeoutMS=300)
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    def stop(self, timeout: float = 5.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> MongoecoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _serve(port: int, sqlite: str | None) -> None:
    import asyncio

    from mongoeco.engines import MemoryEngine, SQLiteEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

    engine = SQLiteEngine(sqlite) if sqlite else MemoryEngine()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=port) as server:
        print(f"mongoeco ({'sqlite ' + sqlite if sqlite else 'memory'}) on {server.address.uri}",
              file=sys.stderr, flush=True)
        await stopping.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.mongoeco",
                                     description="Run a mongoeco wire server on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sqlite", help="keep the data in this SQLite file (default: in memory)")
    args = parser.parse_args(argv)
    try:
        import mongoeco  # noqa: F401
    except ImportError:  # the app's venv: run in mongoeco's own
        os.execv(python(), [python(), "-m", "tests.servers.mongoeco", *sys.argv[1:]])
    import asyncio

    asyncio.run(_serve(args.port, args.sqlite))


if __name__ == "__main__":
    main()
