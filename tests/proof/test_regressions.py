"""Regressions for what the proof suites found, where the suites themselves are too coarse."""

from __future__ import annotations

import pymongo.errors
import pytest
import redis.exceptions


def test_a_lost_redis_or_mongodb_connection_is_a_503_not_a_500(app):
    for exc, code in ((redis.exceptions.ConnectionError("Connection refused"), "unavailable"),
                      (redis.exceptions.TimeoutError("timed out"), "unavailable"),
                      (pymongo.errors.ServerSelectionTimeoutError("no servers"),
                       "database_unavailable"),
                      (pymongo.errors.AutoReconnect("connection reset"), "database_unavailable")):
        with app.test_request_context("/api/v1/posts"):
            response = app.handle_user_exception(exc)
        assert response.status_code == 503, exc
        assert response.get_json()["error"]["code"] == code
        assert response.headers["Retry-After"] == "1"
    with app.test_request_context("/m/someone"):
        response = app.handle_user_exception(redis.exceptions.ConnectionError("gone"))
    assert response.status_code == 503 and response.mimetype == "text/html"


def test_a_bug_is_still_a_500(app):
    with app.test_request_context("/api/v1/posts"):
        response = app.handle_user_exception(KeyError("oops"))
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"


def test_pages_keep_their_http_status_when_a_template_variable_is_called_status(app, client,
                                                                               make_account):
    moderator = make_account("fan", roles=("moderator",))
    for status in ("pending", "all", "approved"):
        r = client.get(f"/admin/moderation?status={status}", headers=moderator.headers)
        assert r.status_code == 200, status


def test_a_cached_set_load_racing_a_write_never_stores_a_set_without_it(ctx):
    """Found by the load test's reconciliation: a follow accepted while another request was
    loading the follower's ``following`` set from MongoDB was missing from the cached set."""
    from app.extensions import redis_client
    from feed import cache

    key = cache.following_key("a" * 24)
    database = {"m1"}
    loads = []

    def loader():
        loads.append(set(database))
        if len(loads) == 1:  # a follow lands while this load is between MongoDB and Redis
            database.add("m2")
            cache.add_if_cached(key, "m2")
        return set(loads[-1])

    cache.ensure_set(key, loader)
    assert redis_client.smembers(key) - {cache.SENTINEL} == {"m1", "m2"}
    assert len(loads) == 2  # the first, stale load was not stored; the second was

    other = cache.following_key("b" * 24)
    cache.ensure_set(other, lambda: ["x"])
    cache.add_if_cached(other, "y")
    cache.remove_if_cached(other, "x")
    assert redis_client.smembers(other) - {cache.SENTINEL} == {"y"}


def test_a_redis_error_while_resolving_a_token_never_makes_the_request_anonymous(
        app, make_account, monkeypatch):
    """Found by the Redis-restart fault: the rate limiter resolves the viewer first; a Redis
    error there (which the limiter swallows) left the request anonymous, and the view then
    answered a valid token with 401 instead of serving it (or 503)."""
    from app import auth

    fan = make_account("fan")
    for_token, calls = auth._resolvers[0], []

    def flaky(raw, *args):
        calls.append(raw)
        if len(calls) == 1:
            raise redis.exceptions.ConnectionError("Connection refused")
        return for_token(raw, *args)

    monkeypatch.setattr(auth, "_resolvers", [flaky])
    with app.test_request_context("/api/v1/feed/home", headers=fan.headers):
        with pytest.raises(redis.exceptions.ConnectionError):
            auth.current_account()
        assert auth.current_account().username == fan.username



def test_the_embedded_worker_starts_again_when_celery_stops_it(app, http, make_account):
    """Found by the Redis-restart fault: when Redis went away while jobs were unacknowledged,
    kombu's channel close failed with an error Celery calls unrecoverable, the worker
    stopped, and no job ran again (fan-outs queued up, posts missing from feeds)."""
    from tests.support import wait_for

    worker = app.extensions["embedded_worker"]
    first = worker.controller
    first.stop(in_sighandler=False)  # what Celery does after an "unrecoverable" error
    wait_for(lambda: worker.controller is not first)
    assert worker.alive
    brand = make_account("merchant")
    r = http.post(http.base + "/posts", json={"kind": "post", "text": "still delivered"},
                  headers=brand.headers)
    assert r.status_code == 201
    redis_client = app.extensions["redis"]
    wait_for(lambda: redis_client.exists(f"recent:{{{brand.id}}}"))  # the fan-out job ran


def test_a_cached_set_whose_loads_keep_being_cancelled_still_answers_from_mongodb(ctx):
    """Found by the load test's reconciliation: when concurrent loads of one cold set kept
    cancelling each other, a reader gave up with an empty set (``following`` false for a
    follow that exists). Readers no longer cancel each other, and a reader whose loads are
    all cancelled answers with what it read."""
    from app.extensions import redis_client
    from feed import cache

    key = cache.following_key("d" * 24)

    def loader():  # a follow lands during every load: each one is cancelled
        cache.add_if_cached(key, "m2")
        return ["m1", "m2"]

    assert cache.set_members(key, loader) == {"m1", "m2"}
    assert not redis_client.exists(key)  # nothing half-known was stored

    other = cache.following_key("e" * 24)
    redis_client.set(cache.loading_key(other), "another reader", ex=60)  # a load in progress
    assert cache.set_members(other, lambda: ["m3"]) == {"m3"}
