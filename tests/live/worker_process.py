"""A worker-like OS process for the cross-process live tests.

It builds the app the way a Celery worker does (``create_app`` on the shared ``REDIS_URL``)
and runs what a job runs when it tells clients something: ``feed.live_events`` and
``app.live``. Commands arrive as JSON lines on stdin; each answers one JSON line on stdout.

Its MongoDB is its own in-process mongomock (the embedded default cannot be shared), so it
sees posts and accounts only through the shared Redis caches the test process warmed: the
same path a production worker takes when the caches are warm.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from app.factory import create_app

    app = create_app(REDIS_URL=os.environ["REDIS_URL"], SECRET_KEY="test-secret",
                     VAR_DIR=os.environ["VAR_DIR"], EMBEDDED_WORKER=False, DEMO_DATA=False)
    from app import live
    from app.accounts import service
    from feed import live_events

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        result: object = None
        with app.app_context():
            op = command.pop("op")
            if op == "post_published":
                live_events.post_published(command["post_id"])
            elif op == "emit":
                live.emit(command["event"], command["payload"], command["room"])
            elif op == "emit_matching":
                live.emit_matching(command["event"], command["payload"], command["rooms"],
                                   command.get("audience"))
            elif op == "disconnect_account":
                live.disconnect_account(command["account_id"])
            elif op == "account":
                account = service.register({"username": command["username"],
                                            "password": "password123",
                                            "display_name": command["username"], "kind": "merchant"})
                service.get(account.id)  # cached in Redis, where web processes find it
                result = str(account.id)
        print(json.dumps({"done": op, "result": result}), flush=True)


if __name__ == "__main__":
    main()
