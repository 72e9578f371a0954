"""The web process is killed (SIGKILL) in the middle of a tus PATCH and started again:
the upload resumes from the offset the new process reports, the bytes on disk are exactly
the file's, and the finished upload becomes ready media.

The upload's bytes and state live in ``UPLOAD_DIR`` (shared by the two processes). In the
embedded default the account lives in mongomock inside the killed process: the restarted
one still knows the token and the account from the shared Redis caches (token and account
caches), which is what a real restart relies on for minutes at most; with ``MONGODB_URI``
the account is simply in the database.
"""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit

from bench.faults.harness import (
    Client,
    WebServer,
    check,
    clip,
    fixed_redis,
    run,
    scratch,
    wait_for,
)

TUS = {"Tus-Resumable": "1.0.0"}


def _slow_patch(url: str, token: str, data: bytes, offset: int, sent: list[int]) -> None:
    """PATCH ``data`` at ``offset`` in small pieces, slowly, until the server goes away."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("PATCH", parts.path)
        for key, value in {**TUS, "Authorization": f"Bearer {token}", "Upload-Offset": str(offset),
                           "Content-Type": "application/offset+octet-stream",
                           "Content-Length": str(len(data))}.items():
            conn.putheader(key, value)
        conn.endheaders()
        for start in range(0, len(data), 16 * 1024):
            conn.send(data[start:start + 16 * 1024])
            sent[0] += len(data[start:start + 16 * 1024])
            time.sleep(0.02)
        conn.getresponse().read()
    except OSError:
        pass  # the server was killed under us: that is the point
    finally:
        conn.close()


def main(argv: list[str]) -> dict:
    source = clip(6.0, "640x360")
    data = source.read_bytes()
    redis = fixed_redis()
    with scratch("tus") as var:
        web = WebServer(redis.url, var).start()
        try:
            client = Client(web.url)
            fan = client.register("uploader")
            r = client.call("POST", "/uploads", fan["token"], headers={
                **TUS, "Upload-Length": str(len(data)),
                "Upload-Metadata": "filename dXBsb2FkLm1wNA=="})
            check(r.status_code == 201, f"create upload: {r.status_code} {r.text}")
            location = r.headers["Location"]
            upload_url = location if location.startswith("http") else web.url + location
            upload_id = upload_url.rstrip("/").rsplit("/", 1)[-1]
            first = len(data) // 3
            r = client.session.patch(upload_url, data=data[:first], headers={
                **TUS, "Authorization": f"Bearer {fan['token']}", "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"})
            check(r.status_code == 204 and int(r.headers["Upload-Offset"]) == first,
                  f"first chunk: {r.status_code} {r.headers}")
            sent = [0]
            writer = threading.Thread(target=_slow_patch, args=(
                upload_url, fan["token"], data[first:], first, sent), daemon=True)
            writer.start()
            wait_for(lambda: sent[0] > 128 * 1024, 30, "the second chunk to be under way")
            web.kill()  # mid-PATCH
            writer.join(30)
            in_flight = sent[0]
            web = WebServer(redis.url, var, port=web.port).start()
            client = Client(web.url)
            r = client.session.head(upload_url, headers={
                **TUS, "Authorization": f"Bearer {fan['token']}"})
            check(r.status_code == 200, f"HEAD after restart: {r.status_code} {r.text}")
            offset = int(r.headers["Upload-Offset"])
            check(first <= offset <= first + in_flight,
                  f"offset {offset} outside [{first}, {first + in_flight}]")
            r = client.session.patch(upload_url, data=data[offset:], headers={
                **TUS, "Authorization": f"Bearer {fan['token']}", "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream"})
            check(r.status_code == 204 and int(r.headers["Upload-Offset"]) == len(data),
                  f"resume: {r.status_code} {r.headers}")
            stored = (var / "uploads" / "tus" / f"{upload_id}.bin").read_bytes()
            check(stored == data, "the assembled upload differs from the file")
            r = client.call("POST", "/media", fan["token"], json={"upload_id": upload_id})
            check(r.status_code == 202, f"media from upload: {r.status_code} {r.text}")
            media_id = r.json()["id"]
            media = wait_for(lambda: (m := client.media(fan["token"], media_id))["status"] != "processing"
                             and m, 180, "the media to finish")
            check(media["status"] == "ready", f"media ended {media['status']}: {media.get('error')}")
            return {"bytes": len(data), "before_kill": first, "in_flight_when_killed": in_flight,
                    "resumed_from": offset, "media": media["status"]}
        finally:
            web.stop()
            redis.stop()


if __name__ == "__main__":
    raise SystemExit(run(main))
