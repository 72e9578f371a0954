"""Races on what a viewer sees of their own actions (issue 15, finding 12).

Real concurrent requests over HTTP (threads), then every flag checked against MongoDB.
"""

from __future__ import annotations

import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from feed.models import Like


@pytest.mark.timeout(300)
def test_liked_matches_the_database_after_concurrent_likes_and_unlikes(app, http, make_account):
    author = make_account("merchant")
    fans = [make_account("fan") for _ in range(2)]
    posts = []
    for i in range(2):
        r = http.post(http.base + "/posts", json={"kind": "post", "text": f"race {i}"},
                      headers=author.headers)
        assert r.status_code == 201, r.text
        posts.append(r.json()["id"])
    for fan in fans:  # each fan's liked set is cached before the storm, as in real use
        r = http.get(f"{http.base}/posts/{posts[0]}", headers=fan.headers)
        assert r.status_code == 200 and r.json()["liked"] is False

    rng = random.Random(15)
    pairs = [(fan, post_id) for fan in fans for post_id in posts]
    local = threading.local()

    def run(op) -> int:
        fan, post_id, method = op
        if not hasattr(local, "session"):
            local.session = requests.Session()
        r = local.session.request(method, f"{http.base}/posts/{post_id}/like",
                                  headers=fan.headers, timeout=60)
        return r.status_code

    def shown_vs_truth() -> list:
        with app.app_context():
            truth = {(str(like.account), str(like.post)) for like in Like.objects}
        wrong = []
        for fan, post_id in pairs:
            shown = http.get(f"{http.base}/posts/{post_id}", headers=fan.headers).json()["liked"]
            if shown != ((fan.id, post_id) in truth):
                wrong.append((fan.username, post_id, shown))
        return wrong

    # Bursts: every pair gets three likes and three unlikes at once, then every flag is
    # compared with MongoDB (a wrong flag stays: nothing touches the pair until the next
    # burst). The server runs in this process: switching threads often makes interleavings
    # that a loaded production server sees (a request paused between its MongoDB write and
    # its Redis update) common enough to show within a few hundred requests.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    wrong: list = []
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            for burst in range(60):
                ops = [(fan, post_id, method) for fan, post_id in pairs
                       for method in ("post", "delete") * 3]
                rng.shuffle(ops)
                statuses = list(pool.map(run, ops))
                assert set(statuses) == {200}, sorted(set(statuses))
                wrong += [(burst, *w) for w in shown_vs_truth()]
    finally:
        sys.setswitchinterval(interval)
    assert not wrong, f"liked differs from the database: {wrong}"
    with app.app_context():
        truth = [str(like.post) for like in Like.objects]
    for post_id in posts:  # and the counts agree with the rows
        count = http.get(f"{http.base}/posts/{post_id}").json()["like_count"]
        assert count == truth.count(post_id)
