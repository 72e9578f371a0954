"""Extension objects, created unbound and initialized by the app factory."""

from __future__ import annotations

from flask import current_app
from flask_socketio import SocketIO
from werkzeug.local import LocalProxy

socketio = SocketIO()

redis_client = LocalProxy(lambda: current_app.extensions["redis"])
# the plain Redis of the Socket.IO message queue (the data may be on a cluster)
queue_client = LocalProxy(lambda: current_app.extensions["redis_queue"])
celery = LocalProxy(lambda: current_app.extensions["celery"])
