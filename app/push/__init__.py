"""Push notifications to phones and browsers that have no open socket.

``models.py`` devices and preferences, ``service.py`` the routes' logic and who gets what,
``providers.py`` the three protocols (APNs over HTTP/2 with token auth, FCM HTTP v1, Web
Push with VAPID), ``tasks.py`` the Celery jobs that deliver (retried with backoff), ``api.py``
the routes. A notification (``app.signals.notified``) for an account with no open socket,
and a new post of an account followed with ``notify: true``, become jobs.
"""
