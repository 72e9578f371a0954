"""Rate limits on a real Redis over real HTTP: per group, stricter for new accounts, 429 shape."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.ratelimits import limit, limit_for


@pytest.fixture
def targets(make_account):
    return [make_account("merchant") for _ in range(6)]


def _report(http, actor, target):
    return http.post(f"{http.base}/accounts/{target.id}/reports", json={"reason": "spam"},
                     headers=actor.headers)


def _age(app, actor, days: int) -> None:
    from app.accounts import service
    from app.accounts.models import Account
    from app.times import utcnow

    with app.app_context():
        Account.objects(id=actor.id).update_one(set__created_at=utcnow() - timedelta(days=days))
        service.invalidate(actor.id)


def test_new_accounts_hit_the_strict_limit_with_a_contract_429(
        app, http, make_account, targets, real_limits):
    reporter = make_account()
    statuses = [_report(http, reporter, t).status_code for t in targets[:4]]
    assert statuses == [201, 201, 201, 429]  # REPORT_NEW: 3/minute
    response = _report(http, reporter, targets[4])
    assert response.status_code == 429
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["message"]
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    # The counters live in Redis, shared by every process.
    with app.app_context():
        keys = list(app.extensions["redis"].scan_iter("LIMITS*rl-report*"))
    assert keys


def test_accounts_older_than_a_day_get_the_normal_limit(app, http, make_account, targets,
                                                        real_limits):
    reporter = make_account()
    _age(app, reporter, days=2)
    statuses = [_report(http, reporter, t).status_code for t in targets]
    assert statuses == [201] * 6


def test_limits_are_per_client(http, make_account, targets, real_limits):
    first, second = make_account(), make_account()
    assert [_report(http, first, t).status_code for t in targets[:4]][-1] == 429
    assert _report(http, second, targets[0]).status_code == 201


def test_moderators_are_exempt_from_content_limits(http, make_account, targets, real_limits):
    moderator = make_account("fan", roles=("moderator",))
    assert [_report(http, moderator, t).status_code for t in targets] == [201] * 6


def test_limits_come_from_settings(app, http, make_account, targets, real_limits):
    app.config["RATELIMIT_REPORT_NEW"] = "1/minute"
    try:
        reporter = make_account()
        assert [_report(http, reporter, t).status_code for t in targets[:2]] == [201, 429]
    finally:
        app.config.pop("RATELIMIT_REPORT_NEW")


def test_the_scale_setting_multiplies_every_amount(ctx, limits_scale):
    limits_scale(10)
    assert limit_for("register") == "50/minute;200/hour"
    limits_scale(1)
    assert limit_for("register") == "5/minute;20/hour"


def test_unknown_groups_are_a_programming_error():
    with pytest.raises(ValueError):
        limit("likes")


def _wired(view: str, group: str) -> bool:
    """Whether ``view`` (module.function) carries ``limit(group)`` (the owner wires it)."""
    from app.ratelimits import limiter

    return any(getattr(lim, "scope", None) == f"rl-{group}"
               for route, limits in limiter.limit_manager._decorated_limits.items()
               if route == view or route.startswith(f"{view}.")
               for lim in limits)


def test_registration_is_limited_per_address(app, http, real_limits):
    if not _wired("app.accounts.api.register", "register"):
        pytest.skip("the accounts API does not use limit('register') yet")
    app.config["RATELIMIT_REGISTER"] = "2/minute"
    try:
        statuses = [
            http.post(f"{http.base}/auth/register", json={
                "username": f"newbie{i}", "password": "password123", "display_name": "N",
                "kind": "fan"}).status_code
            for i in range(3)
        ]
    finally:
        app.config.pop("RATELIMIT_REGISTER")
    assert statuses == [201, 201, 429]


def test_login_is_limited_per_username_and_per_address(app, http, make_account, real_limits):
    if not _wired("app.accounts.api.login", "login"):
        pytest.skip("the accounts API does not use limit('login') yet")
    victim, other = make_account(), make_account()

    def login(actor, password="wrong-password"):
        return http.post(f"{http.base}/auth/token",
                         json={"username": actor.username, "password": password}).status_code

    app.config.update(RATELIMIT_LOGIN="100/minute", RATELIMIT_LOGIN_USER_ADDRESS="3/minute")
    try:
        assert [login(victim) for _ in range(4)] == [401, 401, 401, 429]  # failures only count
        assert login(victim, "password123") == 429  # from this address, even the right one waits
        assert login(other, "password123") == 200
        app.config.update(RATELIMIT_LOGIN="1/minute")
        assert [login(other, "password123") for _ in range(2)] == [200, 429]  # per address
    finally:
        for name in ("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_USER_ADDRESS"):
            app.config.pop(name)
