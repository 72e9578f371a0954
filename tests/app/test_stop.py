"""Stopping is graceful: ``make run`` and every Procfile process, started for real with real
Socket.IO clients connected, exit with code 0 within 5 s of SIGTERM or SIGINT, and the job in
flight (a video transcode) is finished or handed back: it ends ``ready`` after the restart."""

from __future__ import annotations

import signal
import subprocess

import pytest
import requests

from app.redis_server import RedisServer
from tests.live.conftest import LiveClient
from tests.servers.fanhub import BEAT, MAKE_RUN, WEB, WORKER, Process
from tests.servers.mongoeco import MongoecoServer
from tests.support import wait_for

API = "/api/v1"
BOUND = 5  # seconds: a process still running this long after the signal fails the test
# a transcode interrupted by the stop is retried once its job lock lapses: short here
FAST_RETRY = {"MEDIA_JOB_LOCK_SECONDS": "3"}


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("stop-video") / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=960x540:rate=25:duration=6", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)
    return path


def _register(url: str, username: str) -> str:
    r = requests.post(url + API + "/auth/register", timeout=30, json={
        "username": username, "password": "a long password", "display_name": username,
        "kind": "fan"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _upload(url: str, token: str, video) -> str:
    with open(video, "rb") as fh:
        r = requests.post(url + API + "/media", headers={"Authorization": f"Bearer {token}"},
                          files={"file": ("clip.mp4", fh, "video/mp4")}, timeout=60)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _media_status(url: str, token: str, media_id: str) -> str:
    r = requests.get(f"{url}{API}/media/{media_id}", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["status"]


def _wait_ready(url: str, token: str, media_id: str) -> None:
    """The transcode ends, and ends ``ready`` (a stop must never fail a good upload)."""
    wait_for(lambda: _media_status(url, token, media_id) != "processing", timeout=120)
    r = requests.get(f"{url}{API}/media/{media_id}", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    assert r.json()["status"] == "ready", r.json()


def _clients(url: str, token: str) -> list[LiveClient]:
    """One websocket client and one long-polling client."""
    return [LiveClient(url).connect(token),
            LiveClient(url).connect(token, transports=("polling",))]


def _stopped(process: Process, sig: int, group: bool = False) -> None:
    code, _seconds = process.stop(sig, group=group, timeout=BOUND)
    assert code == 0, f"{process.name} exited with {code} (None: still running after {BOUND} s)\n" \
                      f"{process.tail()}"


@pytest.mark.parametrize("sig, group", [(signal.SIGTERM, False), (signal.SIGINT, True)],
                         ids=["SIGTERM", "Ctrl-C"])
def test_make_run_stops_with_clients_connected_and_a_job_in_flight(tmp_path, video, sig, group):
    var = tmp_path / "var"
    server = Process(MAKE_RUN, var, **FAST_RETRY).start().wait_ready()
    clients: list[LiveClient] = []
    try:
        token = _register(server.url, "stopper")
        clients = _clients(server.url, token)
        media_id = _upload(server.url, token, video)  # its transcode is queued or running
        _stopped(server, sig, group)  # Ctrl-C reaches the whole process group
        wait_for(lambda: not any(c.connected for c in clients))
    finally:
        server.kill()
        for client in clients:
            client.sio.disconnect()

    again = Process(MAKE_RUN, var, **FAST_RETRY).start().wait_ready()
    try:
        # finished before the stop, or handed back and run after the restart
        _wait_ready(again.url, token, media_id)
    finally:
        _stopped(again, signal.SIGTERM)


def test_every_procfile_process_stops_with_clients_connected_and_jobs_handed_back(tmp_path, video):
    """web (gthread), live (gevent), worker and beat on one MongoDB (a mongoeco server) and one
    Redis, as the Procfile runs them; the worker is stopped in the middle of a transcode."""
    with MongoecoServer(log=tmp_path / "mongoeco.log") as mongo:
        redis = RedisServer(directory=str(tmp_path / "redis")).start()
        shared = {"MONGODB_URI": mongo.uri("fanhub"), "REDIS_URL": redis.url,
                  "SECRET_KEY": "stop-test", "MEDIA_DIR": str(tmp_path / "media"), **FAST_RETRY}
        web = Process(WEB, tmp_path / "web", "web", **shared)
        live = Process(WEB, tmp_path / "live", "live", WEB_WORKER_CLASS="gevent", **shared)
        worker = Process(WORKER, tmp_path / "worker", "worker", listen=False, **shared)
        beat = Process(BEAT, tmp_path / "beat", "beat", listen=False, **shared)
        processes = [web, live, worker, beat]
        clients: list[LiveClient] = []
        try:
            for process in processes:
                process.start()
            web.wait_ready()
            live.wait_ready()
            worker.wait_log("ready")
            beat.wait_log("beat: Starting")
            token = _register(web.url, "procfiler")
            clients = _clients(web.url, token) + _clients(live.url, token)

            media_id = _upload(web.url, token, video)
            wait_for(lambda: "process_media" in worker.log.read_text(errors="replace"), timeout=60)
            _stopped(worker, signal.SIGTERM)  # mid-transcode (or just after it)
            worker = Process(WORKER, tmp_path / "worker", "worker2", listen=False, **shared).start()
            processes.append(worker)
            _wait_ready(web.url, token, media_id)

            for process in (web, live, beat, worker):
                _stopped(process, signal.SIGTERM)
            wait_for(lambda: not any(c.connected for c in clients))
        finally:
            for process in processes:
                process.kill()
            for client in clients:
                client.sio.disconnect()
            redis.stop()
