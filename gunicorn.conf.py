"""gunicorn settings for the web processes (Flask + Flask-SocketIO; see README, Production).

``WEB_WORKER_CLASS`` picks how a process serves websockets (simple-websocket either way):

- ``gthread`` (default): an open websocket holds threads of the worker for as long as it
  lives (about four per connection), so ``WEB_THREADS`` bounds live connections plus
  concurrent requests; right for the API and a few hundred sockets per process.
- ``gevent``: greenlets instead of threads (monkey-patched at worker start): thousands of
  sockets per process, for processes that serve ``/socket.io/``; CPU-heavy requests (password
  hashing, search) would stall every socket of the process, so keep the API on gthread.

One worker per process (``WEB_CONCURRENCY=1``) and several processes behind a load balancer
with sticky sessions: a Socket.IO session lives in one process.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "1000"))
_connections = threads + 200 if worker_class == "gthread" else 10_000
worker_connections = int(os.environ.get("WEB_CONNECTIONS", str(_connections)))
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("ACCESS_LOG")  # "-" for stdout
# gunicorn's control socket has one default path per user: several servers on one host
# would share it, so it is off unless a path is given.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None
if control_socket is None:
    del control_socket


def post_worker_init(worker):
    """Move what the app allocated at start-up out of the cyclic garbage collector's reach.

    A full collection stops the whole process (every socket of a gevent worker, every thread
    of a gthread worker) for as long as it scans; with the app's import-time objects frozen
    it scans only what connections and requests allocated (measured: 120-310 ms pauses with
    1,000 sockets became 50-190 ms, see bench/README_live.md).
    """
    import gc

    gc.collect()
    gc.freeze()
