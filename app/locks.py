"""Redis locks, the one way to keep two processes out of each other's way.

- ``hold``: a short critical section (one like's write and cache update, one author's index
  writes) waits for the lock, runs, and releases it only if it still carries its token.
- ``JobLock``: a long job's lock (a media job's transcode; each periodic job, see
  ``celery_app``), renewed while its holder is alive.

A ``JobLock`` lives ``seconds`` (default 60) and a daemon thread renews it every third of that
while the job runs: a job that runs for 30 minutes keeps it, but a worker killed outright
(SIGKILL, OOM killer, a lost machine) stops renewing and its lock is gone within ``seconds``,
so the redelivered job can proceed instead of waiting out the job's whole hard time limit.
Renewal and release only touch the lock if it still carries this holder's token.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import LockError, RedisClusterException, RedisError

WAIT_STEP_SECONDS = 0.01  # how often a waiting holder tries again


@dataclass
class Hold:
    """What ``hold`` got: ``acquired`` when the section starts; ``kept`` once it ends (the lock
    was still this holder's at release, so nobody else ran the section meanwhile)."""

    acquired: bool = False
    kept: bool = False


@contextlib.contextmanager
def hold(redis: Any, key: str, seconds: float, wait: float,
         release_retry_seconds: float = 0.0) -> Iterator[Hold]:
    """Run a section under the lock ``key`` (expiring after ``seconds``), waiting up to
    ``wait`` seconds for it; the caller decides what to do when it was not acquired.

    An acquire whose reply is lost may still have taken the lock: it is released (by its
    token) before the error goes on. ``release_retry_seconds`` retries a release that fails
    (a Redis restart, a cluster failover), for locks whose leftover would stall other work.
    """
    lock = redis.lock(key, timeout=seconds, sleep=WAIT_STEP_SECONDS, blocking_timeout=wait,
                      thread_local=False)
    token = uuid.uuid4().hex
    state = Hold()
    try:
        state.acquired = bool(lock.acquire(token=token))
    except (RedisError, RedisClusterException):
        _release(lock, token, release_retry_seconds)
        raise
    try:
        yield state
    finally:
        if state.acquired:
            state.kept = _release(lock, token, release_retry_seconds)


def _release(lock: Any, token: str, retry_seconds: float) -> bool:
    """Release the lock if it still carries ``token``; True if it did."""
    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            lock.do_release(token.encode())
            return True
        except LockError:  # expired, or taken by another holder meanwhile
            return False
        except (RedisError, RedisClusterException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class JobLock:
    """``acquire()`` once; ``release()`` when done (also stops the renewals).

    redis-py's ``Lock`` does the token checks; this adds the renewal thread.
    """

    def __init__(self, redis: Any, key: str, seconds: int = 60) -> None:
        self.seconds = max(3, int(seconds))
        self.lock = redis.lock(key, timeout=self.seconds, blocking=False, thread_local=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False  # set when a renewal found the lock gone or taken

    @property
    def token(self) -> str | None:
        token = self.lock.local.token
        return token.decode() if isinstance(token, bytes) else token

    def acquire(self) -> bool:
        """Take the lock if nobody holds it and start renewing it; False when held."""
        if not self.lock.acquire():
            return False
        self._thread = threading.Thread(target=self._renew, name=f"renew {self.lock.name}",
                                        daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self.lock.reacquire()
            except LockError:  # gone or taken by another holder
                self.lost = True
                return
            except Exception:  # Redis briefly away: try again next round, the TTL has margin
                continue

    def ttl(self) -> int:
        return int(self.lock.redis.ttl(self.lock.name))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):  # else it expires on its own within ``seconds``
            self.lock.release()  # only if it still carries this holder's token
