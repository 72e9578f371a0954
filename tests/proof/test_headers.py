"""Response headers and routing answers an attacker meets (issue 15 and issue 19 item 6):
``nosniff`` on the API and on stored media files, a strict CSP on ``/api/docs`` that Swagger
UI still works under, and no HTML 308 redirects under ``/api``."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import socket

import pytest
import requests
from PIL import Image

from tests.support import on_server


def test_the_api_and_media_files_send_nosniff(server, http, make_account):
    owner = make_account("influencer")
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buf, "PNG")
    r = http.post(http.base + "/media", headers=owner.headers,
                  files={"file": ("pic.png", buf.getvalue(), "image/png")})
    assert r.status_code == 202, r.text
    media = r.json()
    for response in (
            r,
            http.get(f"{http.base}/accounts/{owner.id}"),
            http.get(http.base + "/accounts/me"),                       # 401
            http.post(http.base + "/posts", headers=owner.headers, data="{"),  # 400
            requests.get(server.url + "/api/openapi.json"),
            requests.get(on_server(server.url, media["url"]), headers=owner.headers),
            requests.get(server.url + "/media-files/media/nope/x.png"),
            requests.get(server.url + "/static/vendor/swagger-ui/swagger-ui-bundle.js")):
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.url


def test_the_api_docs_have_a_strict_csp(server):
    r = requests.get(server.url + "/api/docs")
    assert r.status_code == 200
    csp = dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in r.headers["Content-Security-Policy"]
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert inline, "the page has its inline script"
    for script in inline:  # allowed by its hash, nothing else inline is
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]


def test_swagger_ui_works_under_its_csp(browser, server):
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    try:
        response = page.goto(server.url + "/api/docs")
        assert response.status == 200
        page.wait_for_selector(".opblock", timeout=30_000)  # the operations were rendered
        assert page.locator(".opblock").count() > 20
        assert violations == []
    finally:
        context.close()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("path", ["/api/v1/media//x", "/api//v1/posts", "/api/v1/accounts//me",
                                  "/api/v1/posts/"])
def test_no_html_redirect_under_the_api(server, path):
    port = int(server.url.rsplit(":", 1)[1])
    answer = _raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert status != 308 and b"Location:" not in head, head
    assert b"content-type: application/json" in head.lower()
    assert b'"error"' in body or status == 200
