"""A client generated from the served /api/openapi.json by a real generator
(openapi-python-client) completes a user's journey with its typed models only; the document
passes openapi-spec-validator and Spectral's `spectral:oas` ruleset without errors."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from tests.support import node_tools

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SPECTRAL_DIR = ROOT / "tools" / "spectral"


@pytest.fixture(scope="module")
def document(server) -> dict:
    return requests.get(server.url + "/api/openapi.json", timeout=10).json()


def test_the_document_is_valid_openapi(document):
    validate(document)


def _spectral() -> Path:
    return node_tools() / "node_modules" / ".bin" / "spectral"


def test_spectral_finds_no_errors(document, tmp_path):
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    result = subprocess.run(
        [str(_spectral()), "lint", str(path), "--ruleset", str(SPECTRAL_DIR / ".spectral.yaml"),
         "--format", "json", "--quiet"], capture_output=True, text=True, timeout=300)
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["severity"] == 0]
    assert errors == [], errors
    assert result.returncode == 0, result.stderr


def test_response_schemas_are_typed_for_generators(document):
    schemas = document["components"]["schemas"]
    text = json.dumps(document)
    assert '"additionalProperties": false' not in json.dumps(
        {k: v for k, v in schemas.items() if k in ("Post", "Account", "Media", "Comment")})
    assert '{"type": "object", "nullable": true}' not in text  # no anyOf [object, $ref]
    assert schemas["Post"]["properties"]["media"]["items"] == {"$ref": "#/components/schemas/Media"}
    assert schemas["Post"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["Post"]["properties"]["kind"]["enum"] == ["post", "video", "headline"]
    assert "published" in schemas["Post"]["properties"]["status"]["enum"]
    assert {"id", "author", "status", "created_at"} <= set(schemas["Post"]["required"])
    assert "following" not in schemas["Account"]["required"]
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            assert op.get("summary") and op.get("operationId"), (method, path)
            assert "default" in op["responses"], (method, path)
    public = document["paths"]["/api/v1/posts/{post_id}"]["get"]
    assert public["security"] == [{}, {"bearer": []}]
    view = document["paths"]["/api/v1/posts/{post_id}/view"]["post"]
    assert any(p["name"] == "X-Device-Id" for p in view["parameters"])


@pytest.fixture(scope="module")
def generated(document, tmp_path_factory):
    """The client, generated into a temporary folder and imported (never committed)."""
    out = tmp_path_factory.mktemp("client")
    spec = out / "openapi.json"
    spec.write_text(json.dumps(document, ensure_ascii=False))
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(VENV_BIN / "openapi-python-client"), "generate", "--path", str(spec),
         "--meta", "none", "--output-path", str(out / "fanhub_client")],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("fanhub_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] == "fanhub_client"]:
            del sys.modules[name]


def _video(tmp_path: Path) -> bytes:
    path = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=25:duration=1", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path.read_bytes()


def test_a_generated_client_completes_the_journey(generated, server, tmp_path):
    m = importlib.import_module
    api = {name: m(f"fanhub_client.api.{name}") for name in ("accounts", "feed", "media")}
    models = m("fanhub_client.models")
    types = m("fanhub_client.types")
    register = m("fanhub_client.api.accounts.register")
    create_post = m("fanhub_client.api.feed.create_post")
    follow = m("fanhub_client.api.feed.follow")
    home = m("fanhub_client.api.feed.home")
    like = m("fanhub_client.api.feed.like")
    add_comment = m("fanhub_client.api.feed.add_comment")
    comments = m("fanhub_client.api.feed.comments")
    list_notifications = m("fanhub_client.api.feed.list_notifications")
    create_media = m("fanhub_client.api.media.create_media")
    get_media = m("fanhub_client.api.media.get_media")
    assert api
    anonymous = generated.Client(base_url=server.url, raise_on_unexpected_status=True)

    def sign_up(name: str, kind) -> tuple:
        result = register.sync(client=anonymous, body=models.Register(
            username=name, password="a long password", display_name=name.title(), kind=kind))
        assert isinstance(result, models.AuthResult), result
        client = generated.AuthenticatedClient(base_url=server.url, token=result.token,
                                               raise_on_unexpected_status=True)
        return result.account, client

    brand, brand_api = sign_up("gen_brand", models.RegisterKind.MERCHANT)
    fan, fan_api = sign_up("gen_fan", models.RegisterKind.FAN)
    assert isinstance(brand, models.Account) and brand.kind == models.AccountKind.MERCHANT

    followed = follow.sync(ref=f"@{brand.username}", client=fan_api)
    assert isinstance(followed, models.Follow) and followed.following is True

    posted = []
    for i in range(3):
        post = create_post.sync(client=brand_api, body=models.PostCreate(
            kind=models.PostCreateKind.POST, text=f"新品 {i} @{fan.username}"),
            idempotency_key=f"gen-post-{i}")
        assert isinstance(post, models.Post) and post.status == models.PostStatus.PUBLISHED
        posted.append(post.id)

    def home_page(**args) -> object:
        page = home.sync(client=fan_api, **args)
        assert isinstance(page, models.FeedPage), page
        return page

    deadline = time.monotonic() + 15
    while len((first := home_page(limit=2)).items) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p.id for p in first.items] == posted[:0:-1]
    assert first.items[0].author.id == brand.id
    second = home_page(limit=2, cursor=first.next_cursor)
    assert [p.id for p in second.items] == [posted[0]]
    newest = create_post.sync(client=brand_api, body=models.PostCreate(
        kind=models.PostCreateKind.POST, text="pull to refresh"))
    while not (fresh := home_page(after=first.head_cursor)).items and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p.id for p in fresh.items] == [newest.id]

    liked = like.sync(post_id=newest.id, client=fan_api)
    assert isinstance(liked, models.Like) and liked.like_count == 1
    comment = add_comment.sync(post_id=newest.id, client=fan_api,
                               body=models.CommentCreate(text="好喝"))
    assert isinstance(comment, models.Comment) and comment.author.id == fan.id
    listed = comments.sync(post_id=newest.id, client=fan_api)
    assert [c.id for c in listed.items] == [comment.id]

    upload = create_media.sync(client=fan_api, body=models.CreateMediaFilesBody(
        file=types.File(payload=io.BytesIO(_video(tmp_path)), file_name="clip.mp4",
                        mime_type="video/mp4")))
    assert isinstance(upload, models.Media) and upload.status == models.MediaStatus.PROCESSING
    deadline = time.monotonic() + 90
    while (media := get_media.sync(media_id=upload.id, client=fan_api)).status == \
            models.MediaStatus.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.2)
    assert media.status == models.MediaStatus.READY, media
    assert media.type_ == models.MediaType.VIDEO and media.renditions and media.hls_url
    assert requests.get(media.hls_url, timeout=10).status_code == 200

    inbox = list_notifications.sync(client=brand_api)
    assert isinstance(inbox, models.NotificationPage)
    kinds = {(n.type_, n.actor.id) for n in inbox.items if isinstance(n, models.Notification)}
    assert {(models.NotificationType.FOLLOW, fan.id), (models.NotificationType.LIKE, fan.id),
            (models.NotificationType.COMMENT, fan.id)} <= kinds
    mentions = list_notifications.sync(client=fan_api, grouped=True)
    groups = [g for g in mentions.items if isinstance(g, models.NotificationGroup)]
    assert [(g.type_, g.actors_count) for g in groups] == [
        (models.NotificationGroupType.MENTION, 1)] * 3
