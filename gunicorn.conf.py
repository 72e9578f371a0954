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

import gc
import json
import logging
import os
import signal
import threading
import time

import gunicorn.util

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "1000"))
_connections = threads + 200 if worker_class == "gthread" else 10_000
worker_connections = int(os.environ.get("WEB_CONNECTIONS", str(_connections)))
timeout = 60
# Above the app's own limits (REQUEST_LINE_MAX_BYTES 4094, REQUEST_FIELD_MAX_BYTES 8190,
# REQUEST_FIELDS_MAX 100 in app/config.py), so that the app answers those in JSON
# (app/request_limits.py). 8190 is the longest request line gunicorn 27 will take (only 0,
# "unlimited", is longer, and would let a client grow one request line without bound).
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 200
# Stopping (SIGTERM, SIGINT): the master kills a worker still running this long after the
# signal. The worker itself gives requests in flight DRAIN_SECONDS, closes every Socket.IO
# connection at once, and uses the rest to stop the app (jobs finished or handed back, the
# embedded store written): every process is gone within 5 s.
graceful_timeout = 4
DRAIN_SECONDS = 2
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
    gc.collect()
    gc.freeze()

    worker.cfg.set("graceful_timeout", str(DRAIN_SECONDS))  # this worker's drain (the master keeps its own)
    handle_exit = worker.handle_exit

    def on_sigterm(sig, frame):
        handle_exit(sig, frame)
        if worker_class == "gevent":  # a gevent signal handler must not block: a greenlet does it
            import gevent  # imported here: only a gevent worker uses it

            gevent.spawn(_begin_stop, worker)
        else:
            _begin_stop(worker)

    signal.signal(signal.SIGTERM, on_sigterm)


def worker_int(worker):
    """SIGINT or SIGQUIT (Ctrl-C, gunicorn's quick stop): the worker exits right after this.
    Further signals (Ctrl-C reaches the worker, then the master's SIGQUIT) are ignored from
    now on: each would raise SystemExit again in the middle of the app's stop."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    _begin_stop(worker)


def worker_exit(server, worker):
    """Stop the app before the interpreter does: it would first wait for every thread, and a
    thread still serving a long request or running a job (handed back by now) would keep the
    process alive until the master's SIGKILL, which would skip the app's last writes."""
    # imported here: the master must not import Flask (a gevent worker patches first)
    from app import runtime

    if not hasattr(worker.wsgi, "extensions"):
        return  # the app never loaded
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):  # nothing interrupts the stop
        signal.signal(sig, signal.SIG_IGN)
    runtime.stop(worker.wsgi)
    deadline = time.monotonic() + 0.5
    while _busy_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    if _busy_threads():
        logging.shutdown()
        os._exit(0)  # everything is written; what those threads held is back in its queue


def _busy_threads():
    return [t for t in threading.enumerate()
            if t is not threading.current_thread() and not t.daemon and t.is_alive()]


def _begin_stop(worker):
    if hasattr(worker.wsgi, "extensions"):
        from app import runtime  # imported here: as in worker_exit

        runtime.begin_stop(worker.wsgi)


def _json_error(sock, status_int, reason, mesg):
    """What gunicorn answers itself (a request line or header it cannot parse or that is over
    its limits above), in the contract's JSON shape instead of its HTML page.

    gunicorn 27 has no setting or hook for these bodies: its workers call
    ``gunicorn.util.write_error``, replaced here (in the master, before workers fork). A
    gunicorn upgrade that changes it fails tests/proof/test_gunicorn_errors.py."""
    # imported here: runs in the worker (the app loaded); the master must not import Flask
    from app.errors import error_document

    body = json.dumps(error_document(status_int, None, mesg or reason)).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin1")
    gunicorn.util.write_nonblock(sock, head + body)


gunicorn.util.write_error = _json_error
