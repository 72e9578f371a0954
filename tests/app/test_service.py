"""Health, OpenAPI and configuration: the service as an operator meets it."""

from __future__ import annotations

import os
import subprocess
import sys

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_healthz_names_every_component(server):
    r = requests.get(server.url + "/healthz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert {"mongo", "redis", "storage", "search", "ffmpeg", "worker"} <= set(body["components"])
    # the store the suite runs on: mongomock by default, a MongoDB server when MONGODB_URI is set
    expected = "mongodb" if os.environ.get("MONGODB_URI") else "mongomock"
    assert body["components"]["mongo"]["backend"] == expected
    assert all("backend" in c for c in body["components"].values())


def test_healthz_is_503_naming_the_component_that_is_down(app, server):
    def broken():
        raise ConnectionError("search engine unreachable")

    checks = app.extensions["health"]
    original = checks["search"]
    checks["search"] = broken
    try:
        r = requests.get(server.url + "/healthz")
    finally:
        checks["search"] = original
    assert r.status_code == 503
    assert r.json()["down"] == ["search"]
    assert r.json()["components"]["search"]["status"] == "down"


def test_openapi_is_served_from_the_validating_schemas(server):
    spec = requests.get(server.url + "/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert "/api/v1/auth/register" in paths and "/api/v1/accounts/{ref}" in paths
    register = paths["/api/v1/auth/register"]["post"]
    schema_ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert schema["properties"]["kind"]["enum"] == ["fan", "merchant", "influencer"]
    assert paths["/api/v1/accounts/me"]["get"]["security"] == [{"bearer": []}]
    docs = requests.get(server.url + "/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
