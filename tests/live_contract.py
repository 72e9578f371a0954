"""Every Socket.IO event the suite receives is checked against the served AsyncAPI document.

``record`` wraps the real python-socketio client (every client a test makes, whichever
fixture made it) and keeps what the server sent; ``violations`` validates all of it against
the document's payload schemas with jsonschema, once, at the end of the session
(``tests/conftest.py``). An event the document does not list is a violation too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import socketio
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

_SYSTEM = {"connect", "disconnect", "connect_error", "*"}
BASE = "urn:fanhub:asyncapi"
_seen: list[tuple[str, Any]] = []
_lock = threading.Lock()
_document: dict = {}


def remember(app: Any) -> None:
    """Keep the app's AsyncAPI document for the end of the session (the app is gone then)."""
    _document.update(app.test_client().get("/api/asyncapi.json").get_json())


def validators(document: dict | None = None) -> dict[str, Draft7Validator]:
    """One jsonschema validator per event the server sends, by event name."""
    document = document or _document
    registry = Registry().with_resource(
        BASE, Resource.from_contents(document, default_specification=DRAFT7))
    found = {}
    for op in document["operations"].values():
        if op["action"] != "send":
            continue
        for ref in op["messages"]:
            key = ref["$ref"].rsplit("/", 1)[-1]
            message = document["components"]["messages"][key]
            found[message["name"]] = Draft7Validator(
                {"$ref": BASE + message["payload"]["$ref"]}, registry=registry)
    return found


def problems(event: str, payload: Any, checks: dict[str, Draft7Validator]) -> list[str]:
    """What is wrong with one received event (empty when it conforms)."""
    check = checks.get(event)
    if check is None:
        return [f"{event}: not in the AsyncAPI document"]
    return [f"{event}: {error.message} at {'/'.join(map(str, error.absolute_path))} in "
            f"{json.dumps(payload, ensure_ascii=False)[:300]}"
            for error in check.iter_errors(payload)]


def record() -> Callable[[], None]:
    """Start recording what every socketio.Client receives; returns the undo."""
    original = socketio.Client._trigger_event

    def trigger(self, event, namespace, *args):
        # the client's own events and the tests' own probes (``test.*``) are not the server's
        if event not in _SYSTEM and not event.startswith(("__", "test.")):
            with _lock:
                _seen.append((event, args[0] if len(args) == 1 else list(args)))
        return original(self, event, namespace, *args)

    socketio.Client._trigger_event = trigger
    return lambda: setattr(socketio.Client, "_trigger_event", original)


def violations() -> tuple[int, list[str]]:
    """(events checked, what did not conform)."""
    with _lock:
        seen = list(_seen)
    if not seen:  # also when no test used the app (its document was never read)
        return 0, []
    checks = validators()
    found: list[str] = []
    for event, payload in seen:
        found.extend(problems(event, payload, checks))
    return len(seen), sorted(set(found))
