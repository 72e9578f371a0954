"""Every /api error is JSON, including what gunicorn answers before Flask sees the request
(issue 19 item 6, issue 15): through a real gunicorn (``gunicorn.conf.py``, gthread and
gevent), raw bytes on a socket, so nothing in between fixes the request up.

Over the app's limits (``REQUEST_*`` in app/config.py) the app's middleware answers; over
gunicorn's own (higher) limits, or for requests it cannot parse, gunicorn answers, and
``gunicorn.conf.py`` makes that answer JSON in the contract's shape too.
"""

from __future__ import annotations

import json
import socket

import pytest

from app.redis_server import RedisServer, free_port
from tests.live.processes import NginxProcess, WebProcess


@pytest.fixture(scope="module", params=["gthread", "gevent"])
def web(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"gunicorn_{request.param}")
    redis = RedisServer().start()
    process = WebProcess(redis.url, root, request.param, DEMO_DATA="0")
    try:
        yield process.wait_ready()
    finally:
        process.stop()
        redis.stop()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """gunicorn behind nginx configured as the README says."""
    root = tmp_path_factory.mktemp("gunicorn_nginx")
    redis = RedisServer().start()
    process = WebProcess(redis.url, root / "web", DEMO_DATA="0", TRUSTED_PROXIES="1")
    proxy = None
    try:
        process.wait_ready()
        proxy = NginxProcess(f"127.0.0.1:{process.port}", root / "nginx").wait_ready()
        yield proxy
    finally:
        if proxy:
            proxy.stop()
        process.stop()
        redis.stop()


def _send(web, raw: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", web.port), timeout=20) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:  # the server closed while we were still sending
            pass
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _get(path: str, *extra: str) -> bytes:
    fields = "".join(f"{line}\r\n" for line in ("Host: localhost", *extra, "Connection: close"))
    return f"GET {path} HTTP/1.1\r\n{fields}\r\n".encode()


def _assert_contract_error(status: int, headers: dict, body: bytes, expected: int) -> dict:
    assert status == expected, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    error = json.loads(body)["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    return error


@pytest.mark.parametrize("size, who", [(10_000, "gunicorn"), (5_000, "app")])
def test_a_long_query_string_is_a_json_414(web, size, who):
    error = _assert_contract_error(*_send(web, _get("/api/v1/search?q=" + "a" * size)), 414)
    assert error["code"] == "uri_too_long", who


def test_a_query_string_within_the_limit_reaches_the_api(web):
    status, headers, body = _send(web, _get("/api/v1/search?q=" + "a" * 3_000))
    assert status in (200, 400) and headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("header, who", [
    ("X-Big: " + "b" * 20_000, "gunicorn: over its field size"),
    ("X-Big: " + "b" * 10_000, "app: over REQUEST_FIELD_MAX_BYTES"),
    ("Cookie: " + "c" * 10_000, "app: a big cookie"),
])
def test_an_oversized_header_is_a_json_431(web, header, who):
    error = _assert_contract_error(*_send(web, _get("/api/v1/posts/x", header)), 431)
    assert error["code"] == "headers_too_large", who


@pytest.mark.parametrize("count", [150, 250])  # over the app's 100, over gunicorn's 200
def test_too_many_headers_is_a_json_431(web, count):
    extra = [f"X-H{i}: v" for i in range(count)]
    error = _assert_contract_error(*_send(web, _get("/api/v1/posts/x", *extra)), 431)
    assert error["code"] == "headers_too_large"


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",                                         # no method, target or version
    b"GET /api/v1/posts HTTP/1.1 extra\r\nHost: x\r\n\r\n",     # too many parts
    b"GET /api/v1/posts HTTP/9.9\r\nHost: x\r\n\r\n",           # unknown version
    b"G@T /api/v1/posts HTTP/1.1\r\nHost: x\r\n\r\n",           # bad method token
    b"GET /api/v1/po sts HTTP/1.1\r\nHost: x\r\n\r\n",          # space in the target
    b"GET /api/v1/posts HTTP/1.1\nHost: x\n\n",                 # bare LF
    b"GET /api/v1/posts HTTP/1.1\r\nBad Header: x\r\n\r\n",     # space in a field name
    b"GET /api/v1/posts HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  # obsolete line folding
    b"POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
], ids=lambda raw: repr(raw[:24]))
def test_a_request_gunicorn_cannot_parse_is_a_json_400(web, raw):
    status, headers, body = _send(web, raw)
    assert 400 <= status < 600 and status != 500, status
    _assert_contract_error(status, headers, body, status)


def test_no_html_redirect_through_gunicorn(web):
    status, headers, body = _send(web, _get("/api/v1/media//x"))
    _assert_contract_error(status, headers, body, 404)


@pytest.mark.parametrize("raw, status, code", [
    (_get("/api/v1/search?q=" + "a" * 40_000), 414, "uri_too_long"),      # nginx's own limit
    (_get("/api/v1/search?q=" + "a" * 10_000), 414, "uri_too_long"),      # gunicorn's
    (_get("/api/v1/search?q=" + "a" * 5_000), 414, "uri_too_long"),       # the app's
    (_get("/api/v1/posts/x", "X-Big: " + "b" * 40_000), 431, "headers_too_large"),  # nginx
    (_get("/api/v1/posts/x", "X-Big: " + "b" * 20_000), 431, "headers_too_large"),  # gunicorn
    (_get("/api/v1/posts/x", "X-Big: " + "b" * 10_000), 431, "headers_too_large"),  # the app
    (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    (b"GET /api/v1/posts HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, "bad_request"),
    (_get("/api/v1/media//x"), 404, "not_found"),
], ids=lambda v: repr(v[:30]) if isinstance(v, bytes) else str(v))
def test_behind_the_readmes_nginx_every_error_is_json(nginx, raw, status, code):
    assert _assert_contract_error(*_send(nginx, raw), status)["code"] == code


def test_behind_nginx_a_stopped_upstream_is_a_json_503(tmp_path):
    proxy = NginxProcess(f"127.0.0.1:{free_port()}", tmp_path / "nginx")  # nothing listens
    try:
        status, headers, body = _send(proxy.wait_ready(), _get("/api/v1/posts/x"))
    finally:
        proxy.stop()
    assert _assert_contract_error(status, headers, body, 503)["code"] == "unavailable"
    assert headers["retry-after"] == "1"
