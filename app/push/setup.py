"""Push notifications to phones and browsers that have no open socket.

``models.py`` devices and preferences, ``service.py`` the routes' logic and who gets what,
``providers.py`` the three protocols (APNs over HTTP/2 with token auth, FCM HTTP v1, Web
Push with VAPID), ``tasks.py`` the Celery jobs that deliver (retried with backoff), ``api.py``
the routes. A notification (``app.signals.notified``) for an account with no open socket,
and a new post of an account followed with ``notify: true``, become jobs.
"""

from __future__ import annotations

from flask import Flask

from app import signals
from app.push import service


def init_app(app: Flask) -> None:
    signals.notified.connect(service.on_notified, weak=False)
    signals.post_saved.connect(service.on_post_saved, weak=False)
    signals.media_ready.connect(service.on_media_ready, weak=False)
    signals.moderation_decided.connect(service.on_moderation_decided, weak=False)
