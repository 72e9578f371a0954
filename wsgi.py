"""Process entry point: ``gunicorn wsgi:app`` (see the Procfile) or ``python wsgi.py``."""

import os

from app.extensions import socketio
from app.factory import create_app

app = create_app()
celery = app.extensions["celery"]  # for `celery --app wsgi:celery worker`

if __name__ == "__main__":
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"),
                 port=int(os.environ.get("PORT", "5000")), allow_unsafe_werkzeug=True)
