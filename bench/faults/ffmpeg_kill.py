"""The transcoder dies mid-job: ffmpeg is SIGKILLed while it encodes (what the OOM killer or
a node going away does to it). The job must run again and end ``ready`` with exactly one set
of outputs: no second prefix, no half-written renditions left behind.

A worker process killed mid-job (``SIGKILL`` on a separate ``celery worker``) needs several
processes sharing one MongoDB, so it runs only with ``MONGODB_URI`` (see README_proof.md);
here the in-process worker keeps running and only its ffmpeg child is killed.

``python -m bench.faults.ffmpeg_kill``
"""

from __future__ import annotations

import signal
import time

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


def main(argv: list[str]) -> dict:
    video = clip(10.0, "1280x720")
    redis = fixed_redis()
    with scratch("ffmpeg") as var:
        web = WebServer(redis.url, var).start()
        try:
            client = Client(web.url)
            fan = client.register("uploader")
            r = client.upload_file(fan["token"], video)
            check(r.status_code == 202, f"upload: {r.status_code} {r.text[:200]}")
            media_id = r.json()["id"]
            victims = wait_for(lambda: web.children_named("ffmpeg"), 120, "ffmpeg to start",
                               interval=0.02)
            wait_for(lambda: client.media(fan["token"], media_id)["progress"] > 0, 60,
                     "some progress", interval=0.05)
            for proc in victims:
                proc.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            media = wait_for(lambda: (m := client.media(fan["token"], media_id))["status"] != "processing"
                             and m, 300, "the job to finish after ffmpeg was killed")
            check(media["status"] == "ready",
                  f"media ended {media['status']} after its ffmpeg was killed: {media.get('error')} "
                  "(expected the job to run again)")
            prefixes = sorted(p.name for p in (var / "media" / "media").iterdir()
                              if p.name.startswith(media_id))
            check(len(prefixes) == 1, f"output prefixes for the media: {prefixes}")
            names = {p.relative_to(var / "media" / "media" / prefixes[0]).as_posix()
                     for p in (var / "media" / "media" / prefixes[0]).rglob("*") if p.is_file()}
            wanted = {r["url"].rsplit("/", 1)[-1] for r in media["renditions"]} | {"poster.jpg"}
            check(wanted <= {n.rsplit("/", 1)[-1] for n in names}, f"missing outputs: {wanted}")
            leftovers = [n for n in names if n.endswith((".tmp", ".part"))]
            check(not leftovers, f"half-written files: {leftovers}")
            return {"killed": len(victims), "recovered_s": round(time.monotonic() - killed_at, 1),
                    "files": len(names)}
        finally:
            web.stop()
            redis.stop()


if __name__ == "__main__":
    raise SystemExit(run(main))
