"""Intake memory: a 400 MB multipart upload must not grow the web process by 50 MB.

    .venv/bin/python bench/media_intake.py [--mb 400]

Starts the app in a child process (the web process: werkzeug on loopback, no embedded
worker so nothing but intake runs there), warms it up with a small upload, then sends a
400 MB multipart body over real HTTP and samples the child's resident memory every 20 ms.
Reported: the child's growth over its warmed-up baseline (target < 50 MB), and throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from media_common import PeakRss, mb

BOUNDARY = "benchboundary7MA4YWxkTrZu0gW"


def serve(var: Path) -> None:
    """The child: the app on a random port; prints {port, token}; runs until stdin closes."""
    import logging
    import threading

    from flask import request
    from werkzeug.serving import make_server

    from app.accounts import service, tokens
    from app.factory import create_app

    app = create_app(VAR_DIR=str(var), MEDIA_DIR=str(var / "media"),
                     UPLOAD_DIR=str(var / "uploads"), SEARCH_DIR=str(var / "search"),
                     EMBEDDED_WORKER=False, DEMO_DATA=False, SECRET_KEY="bench",
                     RATELIMIT_ENABLED=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    @app.post("/api/v1/media-bench/naive")  # a path the app's JSON body cap leaves alone
    def naive():  # the control: what reading a whole body into memory costs
        return {"size": len(request.get_data())}

    with app.app_context():
        account = service.register({"username": "bench", "password": "password123",
                                    "display_name": "Bench", "kind": "fan"})
        token = tokens.issue(account.id)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(json.dumps({"port": httpd.server_port, "token": token}), flush=True)
    sys.stdin.read()
    httpd.shutdown()
    server = app.extensions.get("redis_server")
    if server:
        server.stop()


def body_file(folder: Path, size: int) -> Path:
    """A multipart body on disk; the file part is sparse (no disk space, reads as zeros)."""
    path = folder / "body.bin"
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    with open(path, "wb") as fh:
        fh.write(head + b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom")
        fh.seek(len(head) + size)
        fh.write(tail)
    return path


def upload(url: str, token: str, path: Path) -> requests.Response:
    with open(path, "rb") as fh:
        return requests.post(url, data=fh, timeout=600, headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(path.stat().st_size)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    var = Path(tempfile.mkdtemp(prefix="bench-media-intake-"))
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(var)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        info = json.loads(child.stdout.readline())
        url = f"http://127.0.0.1:{info['port']}/api/v1/media"
        for _ in range(3):  # warm-up: every code path of intake loaded and used
            small = upload(url, info["token"], body_file(var, 2 * 1024 * 1024))
            assert small.status_code == 202, small.text
        big = body_file(var, args.mb * 1024 * 1024)
        with PeakRss(child.pid) as memory:
            start = time.perf_counter()
            response = upload(url, info["token"], big)
            wall = time.perf_counter() - start
        assert response.status_code == 202, response.text
        growth = memory.peak - memory.baseline
        print(f"{args.mb} MB multipart upload over HTTP: {wall:.1f} s "
              f"({args.mb / wall:.0f} MB/s); web process {mb(memory.baseline)} before, "
              f"peak {mb(memory.peak)}, growth {mb(growth)} (target < 50 MB)")
        with PeakRss(child.pid) as control:
            naive = upload(f"http://127.0.0.1:{info['port']}/api/v1/media-bench/naive",
                           info["token"], big)
        assert naive.status_code == 200, naive.text
        print(f"control, the same body read into memory by a plain view: growth "
              f"{mb(control.peak - control.baseline)}")
        stored = sum(p.stat().st_size for p in (var / "media").rglob("*") if p.is_file())
        print(f"stored originals: {mb(stored)}; multipart leftovers: "
              f"{len(list((var / 'uploads').rglob('*.part')))}")
    finally:
        child.stdin.close()
        child.wait(30)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
