"""The served OpenAPI document: what flask-smorest builds from the schemas, finished with the
parts that cut across every route (rate limits and their headers).

The finishing walks the app's routes, not the document's text, so a route's limits are
those its view really counts in (``moderation.ratelimits.group_of``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from flask import Flask

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": ("integer", "requests allowed in the current window"),
    "X-RateLimit-Remaining": ("integer", "requests left in the current window"),
    "X-RateLimit-Reset": ("integer", "when the window resets, in Unix seconds"),
}
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _spec_path(rule: str) -> str:
    return _RULE_ARG.sub(r"{\1}", rule)


def _components(spec: dict) -> None:
    headers = spec.setdefault("components", {}).setdefault("headers", {})
    for name, (kind, text) in RATE_LIMIT_HEADERS.items():
        headers[name] = {"description": text, "schema": {"type": kind}}
    headers["Retry-After"] = {"description": "seconds to wait before retrying",
                              "schema": {"type": "integer"}}
    headers["ETag"] = {"description": "the answer's version: send it back in `If-None-Match`",
                       "schema": {"type": "string"}}
    spec["components"].setdefault("responses", {})["RateLimited"] = {
        "description": "`rate_limited`: too many requests; retry after `Retry-After` seconds",
        "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"},
                    **{name: {"$ref": f"#/components/headers/{name}"}
                       for name in RATE_LIMIT_HEADERS}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _etags(spec: dict) -> None:
    """Operations that answer 304 tag their 200s."""
    for ops in spec.get("paths", {}).values():
        for op in ops.values():
            responses = op.get("responses", {}) if isinstance(op, dict) else {}
            if "304" in responses and "200" in responses:
                responses["200"].setdefault("headers", {})["ETag"] = {
                    "$ref": "#/components/headers/ETag"}


def _limit_text(group: str, limits: dict[str, str]) -> str:
    text = f"Rate limited (group `{group}`, per account, else per address): {limits['limit']}"
    if "new_accounts" in limits:
        text += f"; accounts younger than a day: {limits['new_accounts']}"
    return text + "."


def _rate_limits(spec: dict, app: Flask, group_of: Callable, limits_of: Callable) -> None:
    paths = spec.get("paths", {})
    for rule in app.url_map.iter_rules():
        ops = paths.get(_spec_path(rule.rule))
        if not ops:
            continue
        view = app.view_functions[rule.endpoint]
        methods = set(rule.methods or ())
        if rule.provide_automatic_options:
            methods.discard("OPTIONS")  # Flask answers these itself
        if "GET" in methods:
            methods.discard("HEAD")
        for method in methods:
            op = ops.get(method.lower())
            if op is None:
                continue
            group = group_of(view, method, rule.endpoint, rule.rule)
            if group is None:
                continue
            limits = limits_of(group)
            op["x-rate-limit"] = {"group": group, **limits}
            text = _limit_text(group, limits)
            op["description"] = f"{op['description']}\n\n{text}" if op.get("description") \
                else text
            for status, response in op.get("responses", {}).items():
                if isinstance(response, dict) and "$ref" not in response and status != "429":
                    response.setdefault("headers", {}).update(
                        {name: {"$ref": f"#/components/headers/{name}"}
                         for name in RATE_LIMIT_HEADERS})
            op.setdefault("responses", {})["429"] = {"$ref": "#/components/responses/RateLimited"}


def finish(spec: dict[str, Any], app: Flask, group_of: Callable,
           limits_of: Callable) -> dict[str, Any]:
    """The served document: ``spec`` (left untouched) with the cross-cutting parts added.

    ``group_of(view, method, endpoint, rule)`` names a route's rate-limit group (or None),
    ``limits_of(group)`` gives its limits (the rate limits' owner passes both).
    """
    done = copy.deepcopy(spec)
    _components(done)
    _etags(done)
    _rate_limits(done, app, group_of, limits_of)
    return done
