"""Signed, expiring paths for the files the app serves (``/media-files/s/<exp>/<sig>/<key>``).

The signature covers a media's folder (``media/<id>-<random>``) and an expiry, not one
file: an HLS playlist names its renditions and segments relatively, and they resolve inside
the same signed folder. Expiries are rounded up to the hour, so a URL stays the same for an
hour (cached pages and ETags keep) and works for at least ``ttl`` seconds. A viewer who was
shown a media keeps its URLs that long; after that only a fresh answer (which checks that the
viewer may still see it) gives new ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

ROUND_SECONDS = 3600


class UrlSigner:
    def __init__(self, secret: str | bytes, ttl: int) -> None:
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.ttl = int(ttl)

    def _sig(self, expires: int, folder: str) -> str:
        mac = hmac.new(self.secret, f"{expires}:{folder}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()

    @staticmethod
    def _folder(key: str) -> str:
        return "/".join(key.split("/", 2)[:2])

    def path(self, key: str, now: float | None = None) -> str:
        """``s/<expires>/<sig>/<key>``: what goes after the files route's base."""
        now = time.time() if now is None else now
        expires = -(-int(now + self.ttl) // ROUND_SECONDS) * ROUND_SECONDS
        return f"s/{expires}/{self._sig(expires, self._folder(key))}/{key}"

    def verify(self, path: str, now: float | None = None) -> str | None:
        """The key of a signed path that is genuine and not expired, else None."""
        parts = path.split("/", 3)
        if len(parts) != 4 or parts[0] != "s" or not parts[1].isdigit():
            return None
        expires, sig, key = int(parts[1]), parts[2], parts[3]
        if expires < (time.time() if now is None else now):
            return None
        if not hmac.compare_digest(sig, self._sig(expires, self._folder(key))):
            return None
        return key
