"""Helpers the tests share: waiting for asynchronous work, test accounts."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy and return it; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


NODE_TOOLS = Path(__file__).resolve().parent.parent / "tools" / "spectral"


def node_tools() -> Path:
    """tools/spectral with its npm packages (Spectral, the AsyncAPI parser), pinned by its
    lock file; installed by `make setup`, or here from the npm registry if not yet."""
    if not (NODE_TOOLS / "node_modules" / "@asyncapi" / "parser").exists() or \
            not (NODE_TOOLS / "node_modules" / ".bin" / "spectral").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE_TOOLS,
                       check=True, timeout=600)
    return NODE_TOOLS


def on_server(server_url: str, url: str) -> str:
    """An absolute URL from a body, fetched from ``server_url`` (bodies built for the Flask
    test client name its ``localhost``)."""
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, f"not absolute: {url}"
    return server_url + parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Actor:
    """A test account with its bearer token."""

    id: str
    username: str
    token: str
    json: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address: str, **kwargs: Any) -> None:
        self.source_address = (address, 0)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = self.source_address
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    """A requests session whose connections come from ``address`` (any 127.x.y.z works on
    Linux loopback): a distinct client address for the server, with no proxy in between."""
    session = requests.Session()
    adapter = _SourceAddressAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def sign_in_page(base_url: str, username: str, password: str = "password123",
                 session: requests.Session | None = None) -> requests.Session:
    """Sign in through the ``/login`` form as a browser does; the session holds the cookie."""
    browser = session or requests.Session()
    page = browser.get(base_url + "/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = browser.post(base_url + "/login", allow_redirects=False,
                     data={"username": username, "password": password, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    return browser


def read_session_cookie(value: str) -> dict:
    """A Flask session cookie's content, read as an attacker would: no key is needed."""
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)
