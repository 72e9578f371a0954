"""Token reuse: after logout, a password change, a suspension or deleting the account.

Tokens are resolved through a Redis cache; revoking must take effect at once (the very next
request), in every place a token is accepted (the API and the pages).
"""

from __future__ import annotations


def _login(http, username: str, password: str = "password123"):
    return http.post(http.base + "/auth/token", json={"username": username, "password": password})


def _me(http, token: str) -> int:
    return http.get(http.base + "/accounts/me",
                    headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_revoked_token_stops_at_once_and_only_that_one(http, world):
    first = _login(http, world.fan.username).json()["token"]
    second = _login(http, world.fan.username).json()["token"]
    assert _me(http, first) == 200 and _me(http, second) == 200  # both cached now
    r = http.delete(http.base + "/auth/token", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 204
    assert _me(http, first) == 401
    assert http.post(f"{http.base}/posts/{world.post['id']}/like",
                     headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert http.delete(http.base + "/auth/token",
                       headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert _me(http, second) == 200


def test_a_password_change_revokes_every_other_token(http, world):
    old = _login(http, world.fan.username).json()["token"]
    current = _login(http, world.fan.username).json()["token"]
    assert _me(http, old) == 200
    r = http.post(http.base + "/auth/password", headers={"Authorization": f"Bearer {current}"},
                  json={"old_password": "password123", "new_password": "another-secret-1"})
    assert r.status_code == 204
    assert _me(http, old) == 401
    assert _me(http, world.fan.token) == 401  # the fixture's token too
    assert _me(http, current) == 200
    assert _login(http, world.fan.username).status_code == 401
    assert _login(http, world.fan.username, "another-secret-1").status_code == 200
    # the page no longer knows the old token's viewer
    page = http.get(http.base.replace("/api/v1", f"/m/{world.merchant.username}"),
                    headers={"Authorization": f"Bearer {old}"})
    assert page.status_code == 200 and world.fan.username not in page.text


def test_a_wrong_old_password_changes_nothing(http, world):
    r = http.post(http.base + "/auth/password", headers=world.fan.headers,
                  json={"old_password": "wrong-password", "new_password": "another-secret-1"})
    assert r.status_code == 403
    assert _me(http, world.fan.token) == 200
    assert _login(http, world.fan.username).status_code == 200


def test_suspension_stops_tokens_and_reinstating_restores_them(http, world):
    token = world.fan.token
    r = http.post(f"{http.base}/moderation/accounts/{world.fan.id}/suspend",
                  json={"reason": "spam"}, headers=world.moderator.headers)
    assert r.status_code == 200
    assert _me(http, token) == 401
    assert _login(http, world.fan.username).status_code in (401, 403)
    r = http.delete(f"{http.base}/moderation/accounts/{world.fan.id}/suspend",
                    json={"reason": "ok"}, headers=world.moderator.headers)
    assert r.status_code == 200
    assert _me(http, token) == 200


def test_deleting_the_account_kills_its_tokens(http, world):
    other = _login(http, world.other_fan.username).json()["token"]
    r = http.delete(http.base + "/accounts/me", json={"password": "password123"},
                    headers=world.other_fan.headers)
    assert r.status_code == 204
    assert _me(http, world.other_fan.token) == 401
    assert _me(http, other) == 401
    assert _login(http, world.other_fan.username).status_code == 401


def test_garbage_tokens_are_401(http):
    for token in ("x", "a" * 5000, "Bearer x", "null", "undefined", "%00", "' or 1=1 --",
                  '{"$ne": null}'):
        r = http.get(http.base + "/accounts/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] in ("invalid_token", "unauthorized")
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Token abc", ""):
        r = http.get(http.base + "/accounts/me", headers={"Authorization": header})
        assert r.status_code == 401, header
