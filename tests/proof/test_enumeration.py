"""Enumeration of ids (issue 15 finding 3): media ids are ObjectIds (a time, a per-process
constant and a counter), so two public ids made on either side of an upload bound its id to
a few hundred candidates. The attack is replayed here in full: every candidate is asked for
as media and as the stored files an id could name. Before the fix, the female-targeted
image and the held fan image answered 200 among them; now every candidate answers 404 to
strangers, while the viewers who may see the posts still get them.
"""

from __future__ import annotations

import io

from bson import ObjectId
from PIL import Image


def _comment(http, world) -> str:
    r = http.post(f"{http.base}/posts/{world.post['id']}/comments", json={"text": "hi"},
                  headers=world.other_fan.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _image(http, actor) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, "PNG")
    r = http.post(f"{http.base}/media", headers=actor.headers,
                  files={"file": ("x.png", buf.getvalue(), "image/png")})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _between(low: str, high: str) -> list[str]:
    """Every ObjectId this process could have made between two ids it made."""
    a, b = ObjectId(low).binary, ObjectId(high).binary
    assert a[4:9] == b[4:9], "made by one process"
    t0, t1 = int.from_bytes(a[:4], "big"), int.from_bytes(b[:4], "big")
    c0, c1 = int.from_bytes(a[9:], "big"), int.from_bytes(b[9:], "big")
    return [str(ObjectId(t.to_bytes(4, "big") + a[4:9] + c.to_bytes(3, "big")))
            for t in range(t0, t1 + 1) for c in range(c0 + 1, c1)]


def test_enumerated_media_ids_answer_404_to_strangers(http, server, world, make_account):
    woman = make_account("fan", profile={"gender": "female"})
    man = make_account("fan", profile={"gender": "male"})
    before = _comment(http, world)
    targeted = _image(http, world.merchant)
    r = http.post(f"{http.base}/posts", headers=world.merchant.headers,
                  json={"kind": "post", "text": "for her", "media_ids": [targeted],
                        "audience": {"gender": "female"}})
    assert r.status_code == 201 and r.json()["status"] == "published", r.text
    r = http.put(f"{http.base}/moderation/terms", headers=world.moderator.headers,
                 json={"block": [], "review": ["刷单"]})
    held = _image(http, world.fan)
    r = http.post(f"{http.base}/posts", headers=world.fan.headers,
                  json={"kind": "post", "text": "兼职刷单", "media_ids": [held]})
    assert r.json()["status"] == "pending_review", r.text
    deleted = _image(http, world.merchant)
    r = http.post(f"{http.base}/posts", headers=world.merchant.headers,
                  json={"kind": "post", "text": "soon gone", "media_ids": [deleted]})
    gone_url = r.json()["media"][0]["url"]
    assert http.delete(f"{http.base}/posts/{r.json()['id']}",
                       headers=world.merchant.headers).status_code == 204
    after = _comment(http, world)

    candidates = _between(before, after)
    assert {targeted, held, deleted} <= set(candidates) and len(candidates) < 5000
    for who, headers in (("anonymous", {}), ("man", man.headers)):
        found = [c for c in candidates
                 if http.get(f"{http.base}/media/{c}", headers=headers).status_code != 404]
        assert found == [], who
    for guess in (f"media/{targeted}/image.png", f"media/{targeted}/hls/master.m3u8",
                  f"originals/{held}/original.png", f"media/{held}-0/image.png"):
        assert http.get(f"{server.url}/media-files/{guess}").status_code == 404, guess
    path = gone_url.split("/media-files/", 1)[1]
    assert http.get(f"{server.url}/media-files/{path}").status_code == 404
    # the viewers who may see them still do
    assert http.get(f"{http.base}/media/{targeted}", headers=woman.headers).status_code == 200
    assert http.get(f"{http.base}/media/{held}", headers=world.fan.headers).status_code == 200
    assert http.get(f"{http.base}/media/{held}",
                    headers=world.moderator.headers).status_code == 200
