"""A short-lived Redis lock, renewed while its holder is alive, so two deliveries of one job
never run at the same time (a media job's transcode; each periodic job, see ``celery_app``).

The lock lives ``seconds`` (default 60) and a daemon thread renews it every third of that
while the job runs: a job that runs for 30 minutes keeps it, but a worker killed outright
(SIGKILL, OOM killer, a lost machine) stops renewing and its lock is gone within ``seconds``,
so the redelivered job can proceed instead of waiting out the job's whole hard time limit.
Renewal and release only touch the lock if it still carries this holder's token.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from redis.exceptions import LockError


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
