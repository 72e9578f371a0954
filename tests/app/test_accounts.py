"""Accounts and tokens over real HTTP, as a mobile app would use them."""

from __future__ import annotations

import time


def register(http, username="alice", kind="fan", password="correct horse", **extra):
    body = {"username": username, "password": password, "display_name": username.title(),
            "kind": kind, **extra}
    return http.post(http.base + "/auth/register", json=body)


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_register_login_and_read_me(http):
    r = register(http, "alice", "fan", display_name="爱丽丝 🌸", bio="喜欢口红 💄",
                 profile={"gender": "female", "interests": ["beauty"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["account"]["display_name"] == "爱丽丝 🌸"
    assert body["account"]["profile"] == {"gender": "female", "interests": ["beauty"]}
    assert set(body["account"]) >= {"id", "username", "display_name", "kind", "roles", "bio",
                                     "avatar_url", "verified", "followers_count",
                                     "following_count", "posts_count", "created_at"}
    assert body["account"]["created_at"].endswith("Z")
    r = http.post(http.base + "/auth/token", json={"username": "ALICE", "password": "correct horse"})
    assert r.status_code == 200
    token = r.json()["token"]
    me = http.get(http.base + "/accounts/me", headers=auth(token))
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_each_kind_registers(http):
    for kind in ("fan", "merchant", "influencer"):
        r = register(http, f"user_{kind}", kind)
        assert r.status_code == 201 and r.json()["account"]["kind"] == kind
    assert register(http, "user_admin", "admin").status_code == 400


def test_usernames_are_unique_ignoring_case(http):
    assert register(http, "Brand_One").status_code == 201
    r = register(http, "brand_ONE")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "username_taken"


def test_usernames_take_a_sane_alphabet(http):
    for bad in ("ab", "a" * 31, "有名字", "a b", "x<script>", "", "../etc"):
        r = register(http, bad)
        assert r.status_code == 400, bad
        assert "username" in r.json()["error"]["fields"]


def test_display_names_take_any_unicode_within_limits(http):
    assert register(http, "uni1", display_name="🍜" * 60).status_code == 201
    assert register(http, "uni2", display_name="字" * 61).status_code == 400
    assert register(http, "uni3", display_name="").status_code == 400


def test_wrong_password_is_401_and_stored_hash_is_slow_kdf(http, ctx):
    register(http, "carol", password="right password")
    r = http.post(http.base + "/auth/token", json={"username": "carol", "password": "nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    from app.accounts.models import Account, Token

    account = Account.objects(username_key="carol").first()
    assert account.password_hash.startswith("$argon2id$")
    assert "right password" not in account.to_json()
    token = http.post(http.base + "/auth/token",
                      json={"username": "carol", "password": "right password"}).json()["token"]
    stored = [t.token_hash for t in Token.objects(account=account.id)]
    assert token not in stored and all(len(h) == 64 for h in stored)


def test_revoked_token_stops_at_once(http):
    token = register(http, "dave").json()["token"]
    assert http.delete(http.base + "/auth/token", headers=auth(token)).status_code == 204
    r = http.get(http.base + "/accounts/me", headers=auth(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


def test_password_change_revokes_every_other_token(http):
    first = register(http, "erin", password="old password").json()["token"]
    second = http.post(http.base + "/auth/token",
                       json={"username": "erin", "password": "old password"}).json()["token"]
    r = http.post(http.base + "/auth/password", headers=auth(first),
                  json={"old_password": "wrong", "new_password": "new password"})
    assert r.status_code == 403
    r = http.post(http.base + "/auth/password", headers=auth(first),
                  json={"old_password": "old password", "new_password": "new password"})
    assert r.status_code == 204
    assert http.get(http.base + "/accounts/me", headers=auth(first)).status_code == 200
    assert http.get(http.base + "/accounts/me", headers=auth(second)).status_code == 401
    assert http.post(http.base + "/auth/token",
                     json={"username": "erin", "password": "new password"}).status_code == 200


def test_expired_token_is_refused(app, http):
    token = register(http, "frank").json()["token"]
    app.config["TOKEN_TTL_SECONDS"] = 1
    app.config["TOKEN_CACHE_SECONDS"] = 1
    try:
        short = http.post(http.base + "/auth/token",
                          json={"username": "frank", "password": "correct horse"}).json()["token"]
    finally:
        app.config["TOKEN_TTL_SECONDS"] = 30 * 24 * 3600
        app.config["TOKEN_CACHE_SECONDS"] = 3600
    assert http.get(http.base + "/accounts/me", headers=auth(short)).status_code == 200
    time.sleep(2.1)
    assert http.get(http.base + "/accounts/me", headers=auth(short)).status_code == 401
    assert http.get(http.base + "/accounts/me", headers=auth(token)).status_code == 200


def test_token_resolves_from_redis_after_cache_miss(app, http):
    token = register(http, "gina").json()["token"]
    r = app.extensions["redis"]
    for key in r.scan_iter("tok:*"):
        r.delete(key)
    assert http.get(http.base + "/accounts/me", headers=auth(token)).status_code == 200
    assert any(True for _ in r.scan_iter("tok:*"))  # cached again


def test_a_token_names_its_account_but_only_the_whole_token_counts(app, http):
    ida = register(http, "iris").json()
    jack = register(http, "jack").json()
    token = ida["token"]
    assert token.startswith(ida["account"]["id"] + ".")
    forged = jack["account"]["id"] + token[token.index("."):]
    r = http.get(http.base + "/accounts/me", headers=auth(forged))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    with app.app_context():  # a token issued before tokens named their account still works
        import hashlib
        from datetime import timedelta

        from app.accounts.models import Token
        from app.times import utcnow

        plain = "plain-token-without-an-account-id"
        Token(token_hash=hashlib.sha256(plain.encode()).hexdigest(), account=jack["account"]["id"],
              expires_at=utcnow() + timedelta(days=1)).save()
    me = http.get(http.base + "/accounts/me", headers=auth(plain))
    assert me.status_code == 200 and me.json()["username"] == "jack"


def test_suspended_account_tokens_stop_working(app, http):
    token = register(http, "harry").json()["token"]
    with app.app_context():
        from app.accounts import service
        from app.accounts.models import Account

        account = Account.objects(username_key="harry").first()
        service.set_suspended(account, True)
    assert http.get(http.base + "/accounts/me", headers=auth(token)).status_code == 401
    r = http.post(http.base + "/auth/token", json={"username": "harry", "password": "correct horse"})
    assert r.status_code == 403
    with app.app_context():
        service.set_suspended(account, False)
    assert http.get(http.base + "/accounts/me", headers=auth(token)).status_code == 200


def test_patch_me_and_public_profile(http):
    fan = register(http, "ivy").json()
    merchant = register(http, "lancome_cn", "merchant").json()
    r = http.patch(http.base + "/accounts/me", headers=auth(merchant["token"]), json={
        "display_name": "兰蔻 Lancôme", "bio": "官方账号",
        "page_layout": {"default": ["posts", "videos", "campaigns"],
                        "female": ["videos", "posts", "campaigns"]}})
    assert r.status_code == 200, r.text
    assert r.json()["page_layout"]["female"][0] == "videos"
    mid = merchant["account"]["id"]
    by_id = http.get(f"{http.base}/accounts/{mid}", headers=auth(fan["token"]))
    by_name = http.get(f"{http.base}/accounts/@LANCOME_CN")
    assert by_id.status_code == 200 and by_name.status_code == 200
    assert by_id.json()["display_name"] == by_name.json()["display_name"] == "兰蔻 Lancôme"
    assert by_id.json()["following"] is False
    assert "profile" not in by_name.json()
    r = http.patch(http.base + "/accounts/me", headers=auth(fan["token"]),
                   json={"page_layout": {"default": ["posts"]}})
    assert r.status_code == 400
    r = http.patch(http.base + "/accounts/me", headers=auth(fan["token"]),
                   json={"roles": ["admin"]})
    assert r.status_code == 400  # roles never come from the API
    assert http.get(http.base + "/accounts/@nobody_here").status_code == 404
    assert http.get(http.base + "/accounts/not-an-id").status_code == 404


def test_delete_me_removes_account_and_tokens(http):
    token = register(http, "jack", password="to be deleted").json()["token"]
    r = http.delete(http.base + "/accounts/me", headers=auth(token), json={"password": "wrong"})
    assert r.status_code == 403
    r = http.delete(http.base + "/accounts/me", headers=auth(token),
                    json={"password": "to be deleted"})
    assert r.status_code == 204
    assert http.get(http.base + "/accounts/me", headers=auth(token)).status_code == 401
    assert http.get(http.base + "/accounts/@jack").status_code == 404
    assert register(http, "jack").status_code == 201  # the name is free again


def test_register_is_rate_limited_per_client(app, http):
    app.config.update(RATELIMIT_REGISTER="3/minute", RATELIMIT_SCALE=1)
    try:
        codes = [register(http, f"flood{i}").status_code for i in range(3)]
        r = register(http, "flood9")
    finally:
        app.config.update(RATELIMIT_REGISTER=None, RATELIMIT_SCALE=1000)
    assert codes == [201, 201, 201]
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0


def test_admin_from_environment(app):
    with app.app_context():
        from app.accounts.service import ensure_admin

        account = ensure_admin("operator", "operator password")
        assert account.has_role("moderator") and "admin" in account.roles
        assert ensure_admin("operator", "operator password").roles == ["admin"]  # idempotent


def _image(http, token) -> dict:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buf, "PNG")
    r = http.post(http.base + "/media", headers=auth(token),
                  files={"file": ("me.png", buf.getvalue(), "image/png")})
    assert r.status_code == 202, r.text
    return r.json()


def test_an_avatar_is_ones_own_ready_image(http):
    """Issue 15: ``avatar_media_id`` took anyone's media (a hidden post's image became a
    public avatar)."""
    alice = register(http, "avatar_alice").json()["token"]
    mallory = register(http, "avatar_mallory").json()["token"]
    hers = _image(http, alice)
    r = http.patch(http.base + "/accounts/me", headers=auth(mallory),
                   json={"avatar_media_id": hers["id"]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["fields"]["avatar_media_id"]
    assert http.get(http.base + "/accounts/@avatar_mallory").json()["avatar_url"] is None
    for bad in ("not-an-id", "0" * 24):
        r = http.patch(http.base + "/accounts/me", headers=auth(mallory),
                       json={"avatar_media_id": bad})
        assert r.status_code == 400, r.text
    r = http.patch(http.base + "/accounts/me", headers=auth(alice),
                   json={"avatar_media_id": hers["id"]})
    assert r.status_code == 200, r.text
    assert http.get(http.base + "/accounts/@avatar_alice").json()["avatar_url"]
    r = http.patch(http.base + "/accounts/me", headers=auth(alice), json={"avatar_media_id": None})
    assert r.status_code == 200 and r.json()["avatar_url"] is None
