"""S3 (moto's standalone server, over real HTTP) refuses every request for a while.

At intake: an upload is refused with a clear 503 ``storage_unavailable`` and no media is
left behind; the same upload works once S3 is back. In the middle of a job (S3 goes away
while ffmpeg runs): the job retries, the media never shows ``ready`` while S3 is down, and
ends ready with every file its playlists name actually in the bucket.

``python -m bench.faults.s3_down [--down 15]``
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import urljoin

import boto3
import requests

from bench.faults.harness import (
    Client,
    WebServer,
    check,
    clip,
    fixed_redis,
    free_port,
    run,
    scratch,
    wait_for,
)

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET = "fanhub-faults"


class Moto:
    """moto's S3 server on a fixed port; stopping it refuses connections, starting it again
    serves the same objects (moto keeps them in this process)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> Moto:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def _check_playable(client: Client, media: dict) -> int:
    """Fetch the master playlist, every variant playlist and every segment; count files."""
    fetched = 0
    master_url = urljoin(client.url, media["hls_url"])
    master = requests.get(master_url, timeout=30)
    check(master.status_code == 200, f"master playlist: {master.status_code}")
    fetched += 1
    for line in master.text.splitlines():
        if not line or line.startswith("#"):
            continue
        variant_url = urljoin(master_url, line)
        variant = requests.get(variant_url, timeout=30)
        check(variant.status_code == 200, f"variant playlist {line}: {variant.status_code}")
        fetched += 1
        for entry in variant.text.splitlines():
            if entry and not entry.startswith("#"):
                segment = requests.get(urljoin(variant_url, entry), timeout=30)
                check(segment.status_code == 200 and segment.content,
                      f"segment {entry}: {segment.status_code}")
                fetched += 1
    for url in [media["poster_url"], *(r["url"] for r in media["renditions"])]:
        r = requests.get(urljoin(client.url, url), timeout=30)
        check(r.status_code == 200 and r.content, f"{url}: {r.status_code}")
        fetched += 1
    return fetched


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--down", type=float, default=15, help="seconds S3 is away mid-job")
    args = parser.parse_args(argv)
    import logging
    import os

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    os.environ.update(CREDENTIALS)
    moto = Moto().start()
    boto3.client("s3", endpoint_url=moto.url).create_bucket(Bucket=BUCKET)
    redis = fixed_redis()
    video = clip(6.0, "640x360")
    with scratch("s3") as var:
        web = WebServer(redis.url, var, S3_BUCKET=BUCKET, S3_ENDPOINT_URL=moto.url,
                        **CREDENTIALS).start()
        try:
            client = Client(web.url)
            fan = client.register("uploader")

            # 1. S3 down at intake: a clear refusal, nothing half-made
            moto.stop()
            r = client.upload_file(fan["token"], video)
            check(r.status_code == 503, f"upload with S3 down: {r.status_code} {r.text[:200]}")
            check(r.json()["error"]["code"] == "storage_unavailable", r.text[:200])
            moto.start()
            r = client.upload_file(fan["token"], video)
            check(r.status_code == 202, f"upload after S3 is back: {r.status_code} {r.text[:200]}")
            first = r.json()["id"]

            # 2. S3 goes away while the job runs
            r = client.upload_file(fan["token"], video)
            check(r.status_code == 202, f"second upload: {r.status_code} {r.text[:200]}")
            second = r.json()["id"]
            wait_for(lambda: web.children_named("ffmpeg"), 120, "ffmpeg to start", interval=0.02)
            moto.stop()
            down_since = time.monotonic()
            seen = set()
            while time.monotonic() - down_since < args.down:
                status = client.media(fan["token"], second)["status"]
                seen.add(status)
                check(status != "ready", "media reported ready while S3 was refusing writes")
                time.sleep(0.5)
            moto.start()
            media = wait_for(lambda: (m := client.media(fan["token"], second))["status"] != "processing"
                             and m, 300, "the job to finish after S3 came back")
            check(media["status"] == "ready", f"media ended {media['status']}: {media.get('error')}")
            files = _check_playable(client, media)
            other = wait_for(lambda: (m := client.media(fan["token"], first))["status"] != "processing"
                             and m, 120, "the first media")
            check(other["status"] == "ready", f"first media ended {other['status']}")
            files += _check_playable(client, other)
            # one set of outputs per media: nothing else under media/ in the bucket
            s3 = boto3.client("s3", endpoint_url=moto.url)
            prefixes = {obj["Key"].split("/")[1] for page in s3.get_paginator(
                "list_objects_v2").paginate(Bucket=BUCKET, Prefix="media/")
                for obj in page.get("Contents", [])}
            check(len(prefixes) == 2, f"media prefixes in the bucket: {sorted(prefixes)}")
            return {"intake_while_down": 503, "statuses_while_down": sorted(seen),
                    "files_checked": files, "recovered_s": round(time.monotonic() - down_since, 1)}
        finally:
            web.stop()
            redis.stop()
            moto.stop()


if __name__ == "__main__":
    raise SystemExit(run(main))
