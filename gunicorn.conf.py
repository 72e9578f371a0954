"""gunicorn settings for the web process (Flask + Flask-SocketIO, threading mode).

Each thread holds one request or one websocket; WEB_THREADS bounds concurrent sockets per
process. Run more processes behind a load balancer with sticky sessions (see README).
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("WEB_THREADS", "200"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("ACCESS_LOG")  # "-" for stdout
