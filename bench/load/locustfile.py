"""The traffic mix, for locust (headless, in its own process; see bench/load/run.py).

80% reads (home feed, a post, an account's posts, a post's comments), 10% interactions
(likes, views, comments), 5% follows, 5% posts. Each simulated client acts as a random
seeded account per task. Every 2xx write is appended to ``LOAD_WRITES`` (JSON lines) so the
reconciliation pass can check that each one is really there afterwards.
"""

from __future__ import annotations

import json
import os
import random
import threading

from locust import FastHttpUser, between, events, task

with open(os.environ["LOAD_ACCOUNTS"]) as _fh:
    ACCOUNTS = json.load(_fh)
FANS, MERCHANTS = ACCOUNTS["fans"], ACCOUNTS["merchants"]
POSTS: list[str] = list(ACCOUNTS["posts"])  # grows with the posts made during the run
_log = open(os.environ["LOAD_WRITES"], "a", buffering=1)  # noqa: SIM115 - open for the run
_lock = threading.Lock()
STATUSES: dict[str, dict[int, int]] = {}
ERROR_CODES: dict[str, int] = {}  # "503 database_unavailable" -> count, for 5xx answers


def record(kind: str, **fields) -> None:
    with _lock:
        _log.write(json.dumps({"kind": kind, **fields}) + "\n")


@events.request.add_listener
def _count(request_type, name, response_length, response=None, exception=None, **_):
    status = getattr(response, "status_code", 0) or 0
    by_route = STATUSES.setdefault(f"{request_type} {name}", {})
    by_route[status] = by_route.get(status, 0) + 1
    if status >= 500:
        try:
            code = json.loads(response.text)["error"]["code"]
        except Exception:  # not the contract's shape (a proxy's page, an empty body)
            code = "(not the contract's shape)"
        key = f"{status} {code}"
        ERROR_CODES[key] = ERROR_CODES.get(key, 0) + 1


@events.quitting.add_listener
def _dump(environment, **_):
    path = os.environ.get("LOAD_STATUSES")
    if path:
        with open(path, "w") as fh:
            json.dump(STATUSES, fh)
        with open(path + ".codes", "w") as fh:
            json.dump(ERROR_CODES, fh)


def _auth(account: dict) -> dict:
    return {"Authorization": f"Bearer {account['token']}"}


class Visitor(FastHttpUser):
    wait_time = between(0.05, 0.3)

    def _call(self, method: str, path: str, name: str, account: dict | None = None,
              ok: tuple = (200, 201, 204), **kwargs):
        headers = kwargs.pop("headers", {})
        if account:
            headers.update(_auth(account))
        with self.client.request(method, "/api/v1" + path, name=name, headers=headers,
                                 catch_response=True, **kwargs) as response:
            if response.status_code in ok:
                response.success()
            else:
                response.failure(f"{response.status_code}")
            return response

    # --- reads: 80% ------------------------------------------------------------------
    @task(40)
    def home(self):
        self._call("GET", "/feed/home?limit=20", "GET /feed/home", random.choice(FANS))

    @task(20)
    def post(self):
        viewer = random.choice(FANS) if random.random() < 0.7 else None
        self._call("GET", f"/posts/{random.choice(POSTS)}", "GET /posts/[id]", viewer)

    @task(12)
    def account_posts(self):
        merchant = random.choice(MERCHANTS)
        self._call("GET", f"/accounts/{merchant['id']}/posts?limit=20",
                   "GET /accounts/[id]/posts", random.choice(FANS))

    @task(8)
    def comments(self):
        self._call("GET", f"/posts/{random.choice(POSTS)}/comments?limit=20",
                   "GET /posts/[id]/comments")

    # --- interactions: 10% -----------------------------------------------------------
    @task(4)
    def like(self):
        fan, post = random.choice(FANS), random.choice(POSTS)
        if self._call("POST", f"/posts/{post}/like", "POST /posts/[id]/like",
                      fan).status_code == 200:
            record("like", fan=fan["id"], token=fan["token"], post=post)

    @task(4)
    def view(self):
        self._call("POST", f"/posts/{random.choice(POSTS)}/view", "POST /posts/[id]/view",
                   random.choice(FANS))

    @task(2)
    def comment(self):
        fan, post = random.choice(FANS), random.choice(POSTS)
        response = self._call("POST", f"/posts/{post}/comments", "POST /posts/[id]/comments",
                              fan, json={"text": random.choice(["好看", "nice!", "想要 👍"])})
        if response.status_code == 201:
            record("comment", post=post, comment=response.json()["id"])

    # --- follows: 5% -----------------------------------------------------------------
    @task(5)
    def follow(self):
        fan, merchant = random.choice(FANS), random.choice(MERCHANTS)
        if self._call("POST", f"/accounts/{merchant['id']}/follow", "POST /accounts/[id]/follow",
                      fan).status_code == 200:
            record("follow", fan=fan["id"], token=fan["token"], merchant=merchant["id"])

    # --- posts: 5% -------------------------------------------------------------------
    @task(5)
    def publish(self):
        author = random.choice(MERCHANTS) if random.random() < 0.8 else random.choice(FANS)
        response = self._call("POST", "/posts", "POST /posts", author, json={
            "kind": "post", "text": f"上新 {random.randint(1, 10**6)} new arrivals",
            "tags": ["load"]})
        if response.status_code == 201:
            post, status = response.json()["id"], response.json()["status"]
            if status == "published":  # a held post is rightly a 404 to everyone else
                POSTS.append(post)
            record("post", post=post, author=author["id"], token=author["token"], status=status)
