"""Extension objects, created unbound and initialized by the app factory."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_socketio import SocketIO
from werkzeug.local import LocalProxy


def _client_key() -> str:
    """Rate-limit key: the signed-in account, else the client address."""
    from app.auth import current_account

    account = current_account()
    return f"account:{account.id}" if account else f"ip:{request.remote_addr}"


socketio = SocketIO()
limiter = Limiter(key_func=_client_key, headers_enabled=True)

redis_client = LocalProxy(lambda: current_app.extensions["redis"])
# the plain Redis of the Socket.IO message queue (the data may be on a cluster)
queue_client = LocalProxy(lambda: current_app.extensions["redis_queue"])
celery = LocalProxy(lambda: current_app.extensions["celery"])
