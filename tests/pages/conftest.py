"""Fixtures for the page tests: a real headless Chromium (Debian's) driven by Playwright,
the app on real HTTP (``server``), real videos transcoded by the media job.

Every page a test opens is checked for browser console errors about the Content-Security-
Policy and for JavaScript dialogs (an XSS payload that runs would open one). Screenshots go
to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support import wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


class Tab:
    """One browser context (its own cookies) with the checks every page gets."""

    def __init__(self, browser, server, headers: dict | None = None) -> None:
        self.server = server
        self.context = browser.new_context(viewport=PHONE, locale="zh-CN",
                                           extra_http_headers=headers or {})
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.csp_errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    def open(self, path: str, expect: int = 200):
        response = self.page.goto(self.server.url + path)
        assert response is not None and response.status == expect, (path, response.status)
        return response

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def sections(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "[data-section]", "nodes => nodes.map(n => n.dataset.section)")

    def post_ids(self, section: str) -> list[str]:
        return self.page.eval_on_selector_all(
            f'[data-section="{section}"] article.post',
            "nodes => nodes.map(n => n.dataset.postId)")

    def login(self, actor, password: str = "password123") -> None:
        self.open("/login")
        self.page.fill("#username", actor.username)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("form.stack button[type=submit]")

    def close(self) -> None:
        assert not self.dialogs, f"a script ran: {self.dialogs}"
        assert not self.csp_errors, f"CSP violations: {self.csp_errors}"
        self.context.close()


@pytest.fixture
def tab(browser, server):
    """``tab()`` opens a fresh browser context; ``tab(headers=actor.headers)`` is an app web
    view sending a bearer token."""
    opened: list[Tab] = []

    def make(headers: dict | None = None) -> Tab:
        t = Tab(browser, server, headers)
        opened.append(t)
        return t

    yield make
    for t in opened:
        t.close()


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory) -> Path:
    """A 2-second 320x180 H.264/AAC clip (made by ffmpeg, once)."""
    path = tmp_path_factory.mktemp("page-clips") / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(path)], check=True, timeout=60)
    return path


class Site:
    """API helpers over real HTTP."""

    def __init__(self, http, app, clip: Path) -> None:
        self.http, self.base, self.app, self.clip = http, http.base, app, clip

    def post(self, actor, expect: int = 201, **body) -> dict:
        body.setdefault("kind", "post")
        r = self.http.post(self.base + "/posts", json=body, headers=actor.headers)
        assert r.status_code == expect, r.text
        return r.json()

    def call(self, method: str, path: str, actor=None, expect: int = 200, **kwargs):
        r = self.http.request(method, self.base + path, headers=actor.headers if actor else {},
                              **kwargs)
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    def video(self, actor, **body) -> dict:
        """Upload the clip, post it as a video, wait until the media job is done."""
        with open(self.clip, "rb") as fh:
            r = requests.post(self.base + "/media", headers=actor.headers,
                              files={"file": ("clip.mp4", fh)}, timeout=60)
        assert r.status_code == 202, r.text
        post = self.post(actor, kind="video", media_ids=[r.json()["id"]], **body)
        return wait_for(lambda: (p := self.call("GET", f"/posts/{post['id']}", actor))
                        ["status"] != "processing" and p, timeout=60)

    def publish(self, post_id: str) -> None:
        """Stands for a moderator's approval."""
        from feed import posts
        from feed.models import Post

        with self.app.app_context():
            posts.set_status(Post.objects.get(id=post_id), "published")


@pytest.fixture
def site(http, app, clip_path) -> Site:
    return Site(http, app, clip_path)
