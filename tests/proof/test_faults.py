"""The fast subset of the fault scenarios in bench/faults (``make proof`` runs them all,
longer): each starts real processes (gunicorn, redis-server) and asserts at the end."""

from __future__ import annotations

import pytest

from bench.faults import redis_restart, search_down, tus_restart
from bench.faults.harness import ScenarioFailed


def _run(scenario, *argv: str) -> dict:
    try:
        return scenario.main(list(argv))
    except ScenarioFailed as exc:
        pytest.fail(f"{scenario.__name__}: {exc}")


def test_tus_upload_resumes_after_the_web_process_is_killed():
    figures = _run(tus_restart)
    assert figures["resumed_from"] >= figures["before_kill"]


def test_search_down_then_back_loses_nothing():
    figures = _run(search_down, "--posts", "5", "--down", "3")
    assert figures["published_while_down"] == 5


def test_redis_restarted_empty_loses_no_accepted_write():
    figures = _run(redis_restart, "--seconds", "8", "--fans", "10", "--merchants", "2",
                   "--threads", "3")
    assert figures["posts"] > 0
