"""The served OpenAPI document: what flask-smorest builds from the schemas, finished with the
parts that cut across every route, so that generators (openapi-python-client, OpenAPI
Generator) make typed clients from it:

- every operation has an ``operationId`` (its view's name), a summary (the view's docstring,
  else its name) and its error responses in the contract's shape; public routes declare the
  optional bearer token; the ``X-Device-Id`` header and ``@username`` references are described;
- response schemas list their ``required`` fields (all but those in ``OPTIONAL``), allow
  unknown future fields (no ``additionalProperties: false``), give times as ``date-time``
  (properties named ``*_at``), and a nullable nested object is ``allOf [$ref]`` +
  ``nullable`` rather than apispec's ``anyOf [object, $ref]`` (which generators read as "any");
- rate-limited operations carry their limits, the ``X-RateLimit-*`` headers and the 429.

The finishing walks the app's routes, not the document's text, so a route's limits are
those its view really counts in (``app.ratelimits.group_of``).
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


# Response properties that are not always present (the rest are required).
OPTIONAL: dict[str, set[str]] = {
    "Account": {"following", "profile", "page_layout", "avatar_media_id"},
    "ModeratedAccount": {"following", "profile", "page_layout", "avatar_media_id"},
    "Media": {"has_audio", "url", "thumbnail_url"},
    "BlockResult": {"blocked", "muted"},
    "Post": {"error"}, "ForYouPost": {"error"}, "TrendingPost": {"error"},  # failed posts only
    "Segment": {"size", "size_exact"},  # not in lists
}
# Headers a route reads besides the token.
DEVICE_ID = {"name": "X-Device-Id", "in": "header", "required": False,
             "schema": {"type": "string", "maxLength": 100},
             "description": "an anonymous app's stable device id (views are counted per viewer; "
                            "the anonymous for_you feed is per device)"}
DEVICE_ID_PATHS = {("post", "/api/v1/posts/{post_id}/view"), ("get", "/api/v1/feed/for_you")}
_ERRORS = {
    "400": "`validation_error`, `invalid_json`, `invalid_cursor` (`fields` names each bad field)",
    "401": "`unauthorized` / `invalid_token`: no valid bearer token",
    "403": "`forbidden`: the account lacks the role or does not own the resource",
    "404": "`not_found`",
    "409": "`conflict`, `idempotency_in_progress` (`Retry-After`)",
    "413": "`too_large`",
    "415": "`unsupported_media_type` / `unsupported_format`",
    "422": "valid but unacceptable: `content_blocked`, `idempotency_key_reused`, ...",
    "503": "a dependency is down: `database_unavailable`, `search_unavailable`, "
           "`storage_unavailable` (`Retry-After`)",
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def _walk(node: Any, visit: Callable[[dict], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    _walk(node, lambda d: found.add(d["$ref"].rsplit("/", 1)[-1])
          if isinstance(d.get("$ref"), str) else None)
    return found


def closure(names: set[str], schemas: dict) -> set[str]:
    """``names`` and every schema they refer to, transitively."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(schemas.get(name, {})) - seen)
    return seen


def _schema_fixes(node: dict) -> None:
    """Per schema object: ECMA patterns, date-time formats, nullable nested ``$ref``s."""
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        node["pattern"] = pattern.replace("\\A", "^").replace("\\Z", "$")
    for name, prop in (node.get("properties") or {}).items():
        if (name == "at" or name.endswith("_at")) and prop.get("type") == "string":
            prop.setdefault("format", "date-time")
    any_of = node.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2:
        refs = [s for s in any_of if "$ref" in s]
        nulls = [s for s in any_of if s.get("nullable") and "$ref" not in s]
        if len(refs) == 1 and len(nulls) == 1:
            del node["anyOf"]
            node["allOf"] = refs
            node["nullable"] = True


def _schemas(spec: dict) -> None:
    schemas = spec.get("components", {}).get("schemas", {})
    responses, requests = set(), set()
    for ops in spec.get("paths", {}).values():
        for method, op in ops.items():
            if method in _METHODS:
                responses |= _refs(op.get("responses", {}))
                requests |= _refs([op.get("requestBody", {}), op.get("parameters", [])])
    responses = closure(responses | {"Notification", "NotificationGroup"}, schemas)
    requests = closure(requests, schemas)
    _walk(spec.get("paths", {}), _schema_fixes)
    finish_schemas(schemas, responses, requests)


def finish_schemas(schemas: dict, responses: set[str], requests: set[str]) -> None:
    """Generator-friendly component schemas (see the module doc): ``responses`` get their
    ``required`` lists (unless also ``requests``) and allow unknown fields."""
    _walk(schemas, _schema_fixes)
    for name in responses:
        schema = schemas.get(name)
        if schema is None:
            continue
        schema.pop("additionalProperties", None)  # future fields are allowed
        if name not in requests and "required" not in schema and schema.get("properties"):
            optional = OPTIONAL.get(name, set())
            schema["required"] = sorted(set(schema["properties"]) - optional)


def document_header(view: Callable, parameter: dict) -> dict:
    """Declare a request header that a decorator reads (``parameter``, an OpenAPI parameter
    object) on ``view``; returns the view's manual document, for the answers it adds.

    Kept apart from "parameters", which flask-smorest would replace with the query
    arguments' list; ``_operation`` merges it in when the document is built.
    """
    apidoc = getattr(view, "_apidoc", None)
    if apidoc is None:
        apidoc = view._apidoc = {}
    manual = apidoc.setdefault("manual_doc", {})
    manual.setdefault("x-header-parameters", []).append(
        {"in": "header", "required": False, **parameter})
    return manual


def _error_responses(spec: dict) -> None:
    responses = spec["components"].setdefault("responses", {})
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for status, text in _ERRORS.items():
        responses[f"Error{status}"] = {"description": text, "content": error}


def _operation(path: str, method: str, op: dict, view: Callable | None, endpoint: str,
               taken: set[str]) -> None:
    headers = op.pop("x-header-parameters", [])  # from decorators (app/idempotency, etags)
    if headers:
        op.setdefault("parameters", []).extend(headers)
    name = endpoint.rsplit(".", 1)[-1]
    op_id = name if name not in taken else endpoint.replace(".", "_")
    taken.add(op_id)
    op.setdefault("operationId", op_id)
    if not op.get("summary"):
        doc = (view.__doc__ or "").strip().split("\n\n")[0] if view else ""
        op["summary"] = " ".join(doc.split()) or name.replace("_", " ").capitalize()
    op.setdefault("description", op["summary"])
    answers = op.setdefault("responses", {})
    secured = any(req for req in op.get("security", []))
    has_input = "requestBody" in op or any(
        p.get("in") == "query" for p in op.get("parameters", []))
    wanted = {"503"}
    if has_input or method in ("post", "put", "patch"):
        wanted |= {"400"}
    if secured:
        wanted |= {"401", "403"}
    if "{" in path:
        wanted |= {"404"}
    if method in ("post", "put", "patch"):
        wanted |= {"422"}
    if any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", [])):
        wanted |= {"409"}
    if path.startswith(("/api/v1/media", "/api/v1/uploads")) and method in ("post", "patch"):
        wanted |= {"409", "413", "415"}
    for status in sorted(wanted):
        answers.setdefault(status, {"$ref": f"#/components/responses/Error{status}"})
    for status, answer in list(answers.items()):
        if status[0] in "45" and "$ref" not in answer and "content" not in answer:
            answer["content"] = {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}
    answers.setdefault("default", {"$ref": "#/components/responses/DEFAULT_ERROR"})
    if (method, path) in DEVICE_ID_PATHS:
        op.setdefault("parameters", []).append(dict(DEVICE_ID))
    for param in op.get("parameters", []):
        if param.get("in") == "path" and param.get("name") == "ref":
            param["description"] = "an account id or `@username`"


def _unused_components(spec: dict) -> None:
    """flask-smorest's page-number pagination schema: our lists are cursor-paged."""
    used = _refs([spec.get("paths", {}), spec.get("components", {}).get("responses", {})])
    schemas = spec.get("components", {}).get("schemas", {})
    if "PaginationMetadata" not in closure(used, schemas):
        schemas.pop("PaginationMetadata", None)


def _operations(spec: dict, app: Flask) -> None:
    views: dict[tuple[str, str], tuple[Callable, str]] = {}
    for rule in app.url_map.iter_rules():
        for method in rule.methods or ():
            views[(method.lower(), _spec_path(rule.rule))] = (
                app.view_functions[rule.endpoint], rule.endpoint)
    taken: set[str] = set()
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            if method in _METHODS:
                view, endpoint = views.get((method, path), (None, f"{method}_{path}"))
                _operation(path, method, op, view, endpoint, taken)


def _info(spec: dict) -> None:
    info = spec.setdefault("info", {})
    info.setdefault("description", (
        "Fanhub's REST API. The full contract (conventions, errors, paging, live events) is "
        "docs/API.md; the live events are `/api/asyncapi.json`. Add-only: fields may be added "
        "to any response at any time, never renamed or dropped."))
    info.setdefault("contact", {"name": "Fanhub", "url": "https://github.com/fanhub"})


def finish(spec: dict[str, Any], app: Flask, group_of: Callable,
           limits_of: Callable) -> dict[str, Any]:
    """The served document: ``spec`` (left untouched) with the cross-cutting parts added.

    ``group_of(view, method, endpoint, rule)`` names a route's rate-limit group (or None),
    ``limits_of(group)`` gives its limits (the rate limits' owner passes both).
    """
    done = copy.deepcopy(spec)
    _info(done)
    _components(done)
    _error_responses(done)
    _schemas(done)
    _etags(done)
    _rate_limits(done, app, group_of, limits_of)
    _operations(done, app)
    _unused_components(done)
    return done
