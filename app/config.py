"""All configuration, read once from the environment.

Every setting has a safe default for the embedded mode (no configuration at all).
Setting ``MONGODB_URI``, ``REDIS_URL``, ``S3_BUCKET`` or ``ELASTICSEARCH_URL`` switches
that component to its production backend; the code above them is the same.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.redis_clients import is_cluster

BASE_DIR = Path(__file__).resolve().parent.parent

# Rate limits per route group (app/ratelimits.py), each overridable as RATELIMIT_<GROUP>.
RATE_LIMITS: dict[str, str] = {
    "REGISTER": "5/minute;20/hour",
    "LOGIN": "10/minute;60/hour",  # sign-in attempts per address
    "LOGIN_USER_ADDRESS": "5/minute;20/hour",  # failed sign-ins per username and address
    # failed sign-ins per username from addresses it has not signed in from lately
    "LOGIN_USER": "30/hour;100/day",
    "POST": "20/minute;200/hour",
    "POST_NEW": "5/minute;30/hour",
    "COMMENT": "30/minute;500/hour",
    "COMMENT_NEW": "10/minute;100/hour",
    "UPLOAD": "20/minute;200/hour",
    "UPLOAD_NEW": "5/minute;40/hour",
    "FOLLOW": "60/minute;1000/day",
    "FOLLOW_NEW": "20/minute;200/day",
    "REPORT": "10/minute;100/day",
    "REPORT_NEW": "3/minute;20/day",
    "WRITE": "120/minute;2000/hour",  # every other write under /api (likes, deletes, edits...)
    # New anonymous device ids (X-Device-Id) counted per address and post: a household or
    # an office shares an address; one client inventing ids must not inflate view_count.
    "VIEW": "20/hour;50/day",
}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


class Config:
    """Settings for one app instance; tests pass overrides to ``create_app``."""

    def __init__(self, **overrides: object) -> None:
        var = Path(_env("VAR_DIR", str(BASE_DIR / "var")))
        self.VAR_DIR = str(var)

        # Components: empty means the embedded default.
        self.MONGODB_URI = _env("MONGODB_URI")
        # A MongoDB that is down fails a request within seconds (503 database_unavailable),
        # well inside gunicorn's 60 s request timeout, instead of pymongo's 30 s default.
        self.MONGODB_TIMEOUT_MS = _int("MONGODB_TIMEOUT_MS", 3000)  # connect, server selection
        # a server that stops answering mid-command (frozen, partitioned): longer, for slow jobs
        self.MONGODB_SOCKET_TIMEOUT_MS = _int("MONGODB_SOCKET_TIMEOUT_MS", 20000)
        # per-route time waiting on MongoDB, written under VAR_DIR/dbstats (app/dbstats.py)
        self.MONGODB_COMMAND_STATS = _bool("MONGODB_COMMAND_STATS", False)
        self.REDIS_URL = _env("REDIS_URL")  # redis://... or redis+cluster://host:port[,host:port]
        # Both need one plain Redis (kombu and python-socketio do not speak Cluster); unset,
        # they are REDIS_URL, which must then be plain (see queue_urls).
        # A Redis (or cluster node) that stops answering mid-command fails the command after
        # this long (503 or a job retry) instead of holding a thread forever.
        self.REDIS_SOCKET_TIMEOUT = float(_env("REDIS_SOCKET_TIMEOUT", "5"))
        self.CELERY_BROKER_URL = _env("CELERY_BROKER_URL")
        self.SOCKETIO_MESSAGE_QUEUE = _env("SOCKETIO_MESSAGE_QUEUE")
        self.ELASTICSEARCH_URL = _env("ELASTICSEARCH_URL")
        self.S3_BUCKET = _env("S3_BUCKET")
        self.S3_PREFIX = _env("S3_PREFIX", "")
        self.S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")
        self.S3_PUBLIC_BASE_URL = _env("S3_PUBLIC_BASE_URL")
        # The address clients reach the app at (https://api.example.com): URLs in bodies are
        # built on it. Unset: the request's own address (app/urls.py).
        self.PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL")
        self.MEDIA_DIR = _env("MEDIA_DIR", str(var / "media"))
        self.SEARCH_DIR = _env("SEARCH_DIR", str(var / "search"))
        self.UPLOAD_DIR = _env("UPLOAD_DIR", str(var / "uploads"))
        self.SEARCH_ANALYZER = _env("SEARCH_ANALYZER", "cjk")
        self.SEARCH_INDEX = _env("SEARCH_INDEX", "content")  # Elasticsearch alias prefix
        self.SEARCH_SWEEP_SECONDS = _int("SEARCH_SWEEP_SECONDS", 300)
        # Media pipeline knobs; unset means the media package's defaults (media/transcode.py).
        for name in ("MEDIA_TRANSCODE_TIMEOUT", "MEDIA_FFMPEG_THREADS", "MEDIA_FFMPEG_NICE",
                     "MEDIA_X264_PRESET", "MEDIA_WORK_DIR", "MEDIA_UPLOAD_TTL_SECONDS",
                     "S3_URL_TTL", "MEDIA_URL_PATH", "MEDIA_JOB_LOCK_SECONDS"):
            setattr(self, name, _env(name))
        # The lost-job sweep runs this often: a transcode whose worker died is queued again
        # within MEDIA_JOB_LOCK_SECONDS (60) plus this (media/service.py: requeue_stuck).
        self.MEDIA_REQUEUE_SECONDS = _int("MEDIA_REQUEUE_SECONDS", 30)
        # Deleted media's files: removed by a job at once, and by a sweep this often.
        self.MEDIA_PURGE_SECONDS = _int("MEDIA_PURGE_SECONDS", 30)
        # How long a file URL the app serves (disk; S3 playlists) works at least: signed paths.
        self.MEDIA_URL_TTL = _int("MEDIA_URL_TTL", 6 * 3600)
        self.FFMPEG_BINARY = _env("FFMPEG_BINARY", "ffmpeg")
        self.FFPROBE_BINARY = _env("FFPROBE_BINARY", "ffprobe")

        # Secrets: production refuses to start without one (see create_app).
        self.SECRET_KEY = _env("SECRET_KEY")
        self.ADMIN_USERNAME = _env("ADMIN_USERNAME")
        self.ADMIN_PASSWORD = _env("ADMIN_PASSWORD")

        # Accounts and tokens.
        self.TOKEN_TTL_SECONDS = _int("TOKEN_TTL_SECONDS", 30 * 24 * 3600)
        self.TOKEN_CACHE_SECONDS = _int("TOKEN_CACHE_SECONDS", 3600)
        self.ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_KIB = _int("ARGON2_MEMORY_KIB", 64 * 1024)

        # Requests. TRUSTED_PROXIES: how many proxies (nginx, a load balancer) stand in front
        # and append to X-Forwarded-For / set X-Forwarded-Proto; 0 trusts no such header.
        self.TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
        # Origins (besides this site's own) whose pages may use the session cookie on the
        # Socket.IO connection, comma-separated ("https://m.fanhub.example").
        self.SESSION_ALLOWED_ORIGINS = [o.strip().rstrip("/") for o in
                                        (_env("SESSION_ALLOWED_ORIGINS", "") or "").split(",")
                                        if o.strip()]
        self.JSON_MAX_BYTES = _int("JSON_MAX_BYTES", 1024 * 1024)
        # Request line and headers (app/request_limits.py; gunicorn.conf.py keeps gunicorn's
        # own limits above these so that the app answers, in JSON).
        self.REQUEST_LINE_MAX_BYTES = _int("REQUEST_LINE_MAX_BYTES", 4094)
        self.REQUEST_FIELD_MAX_BYTES = _int("REQUEST_FIELD_MAX_BYTES", 8190)
        self.REQUEST_FIELDS_MAX = _int("REQUEST_FIELDS_MAX", 100)
        self.MEDIA_MAX_BYTES = _int("MEDIA_MAX_BYTES", 500 * 1024 * 1024)
        self.MEDIA_MAX_SECONDS = _int("MEDIA_MAX_SECONDS", 600)  # measured while decoding
        # Video frames: the probe's limit and every decoded frame's (media/probe.py).
        self.MEDIA_MAX_SIDE = _int("MEDIA_MAX_SIDE", 4096)
        self.MEDIA_MAX_PIXELS = _int("MEDIA_MAX_PIXELS", 3840 * 2160)
        # Address space of each ffmpeg / ffprobe child (prlimit RLIMIT_AS). A 4K source with
        # 4 threads needs ~1.5 GB of address space (~0.5 GB resident).
        self.MEDIA_FFMPEG_MEMORY_MB = _int("MEDIA_FFMPEG_MEMORY_MB", 3072)
        self.MEDIA_FFPROBE_MEMORY_MB = _int("MEDIA_FFPROBE_MEMORY_MB", 1024)
        # Unfinished resumable uploads per account: how many, and the bytes they may bring.
        self.UPLOAD_QUOTA_OPEN = _int("UPLOAD_QUOTA_OPEN", 5)
        self.UPLOAD_QUOTA_BYTES = _int("UPLOAD_QUOTA_BYTES", 2 * 1024 ** 3)
        # Idempotency-Key: how long an answer is kept for replay, and how long a request's
        # claim stands if its process dies mid-request (uploads can take minutes).
        self.IDEMPOTENCY_TTL_SECONDS = _int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
        self.IDEMPOTENCY_LOCK_SECONDS = _int("IDEMPOTENCY_LOCK_SECONDS", 900)
        # Image decoding (media/images.py), checked from the header before decoding: pixels,
        # the decoded frame with its working copies, and decodes at once per process (others
        # wait up to IMAGE_DECODE_WAIT_SECONDS, then 429).
        self.IMAGE_MAX_PIXELS = _int("IMAGE_MAX_PIXELS", 40_000_000)
        self.IMAGE_MAX_DECODE_MB = _int("IMAGE_MAX_DECODE_MB", 256)
        self.IMAGE_DECODE_CONCURRENCY = _int("IMAGE_DECODE_CONCURRENCY", 2)
        self.IMAGE_DECODE_WAIT_SECONDS = _int("IMAGE_DECODE_WAIT_SECONDS", 30)
        # CPU seconds after which a headline body's Markdown render stops (422
        # body_too_complex): a backstop for the linear parser (feed/bodies.py), which needs
        # ~1 s for 100 KB of the worst known input.
        self.MARKDOWN_RENDER_SECONDS = float(_env("MARKDOWN_RENDER_SECONDS", "2"))

        # Push (app/push): credentials of each provider; a provider without them is skipped.
        self.APNS_KEY = _env("APNS_KEY")  # the .p8 key's PEM, or its path
        self.APNS_KEY_ID = _env("APNS_KEY_ID")
        self.APNS_TEAM_ID = _env("APNS_TEAM_ID")
        self.APNS_TOPIC = _env("APNS_TOPIC")  # the app's bundle id
        self.APNS_URL = _env("APNS_URL", "https://api.push.apple.com")
        self.APNS_CA_FILE = _env("APNS_CA_FILE")  # only to trust another server (tests)
        self.FCM_SERVICE_ACCOUNT = _env("FCM_SERVICE_ACCOUNT")  # its JSON, or its path
        self.FCM_URL = _env("FCM_URL", "https://fcm.googleapis.com")
        self.VAPID_PRIVATE_KEY = _env("VAPID_PRIVATE_KEY")  # PEM, or its path
        self.VAPID_SUBJECT = _env("VAPID_SUBJECT", "mailto:push@fanhub.invalid")
        self.PUSH_TIMEOUT_SECONDS = _int("PUSH_TIMEOUT_SECONDS", 10)
        self.PUSH_BATCH = _int("PUSH_BATCH", 500)  # followers per job of a post's push
        self.PUSH_ALLOW_HTTP_ENDPOINTS = _bool("PUSH_ALLOW_HTTP_ENDPOINTS", False)  # tests

        # Feeds.
        # An account's cached liked set lives this long after it was loaded (a backstop:
        # like and unlike keep it exact, feed/interactions.py), then is reloaded from MongoDB.
        self.LIKED_CACHE_SECONDS = _int("LIKED_CACHE_SECONDS", 24 * 3600)
        self.FANOUT_MAX_FOLLOWERS = _int("FANOUT_MAX_FOLLOWERS", 10_000)
        self.FANOUT_BATCH_SIZE = _int("FANOUT_BATCH_SIZE", 5_000)
        self.TIMELINE_MAX = _int("TIMELINE_MAX", 800)
        self.FEED_ACTIVE_DAYS = _int("FEED_ACTIVE_DAYS", 7)
        self.FEED_PAGE_SECONDS = _int("FEED_PAGE_SECONDS", 5)  # first home page kept ready
        self.VIEW_FLUSH_SECONDS = _int("VIEW_FLUSH_SECONDS", 60)
        self.CAMPAIGN_MAX_DAYS = _int("CAMPAIGN_MAX_DAYS", 365)  # ends within, lasts at most
        # A published post whose fan-out has not finished this long after it was marked is
        # queued again by the fan-out sweep (which runs this often): the outbox.
        self.FANOUT_SWEEP_SECONDS = _int("FANOUT_SWEEP_SECONDS", 30)
        self.FOR_YOU_DAYS = _int("FOR_YOU_DAYS", 7)  # how old a for-you candidate may be
        self.FOR_YOU_SNAPSHOT_SECONDS = _int("FOR_YOU_SNAPSHOT_SECONDS", 120)  # first page reuse
        self.FOR_YOU_KEEP_SECONDS = _int("FOR_YOU_KEEP_SECONDS", 1800)  # cursors stay valid
        # Behaviour segments: counted at once up to this many fans in the smallest input,
        # above it by a job at most this often (the count is then that old).
        self.SEGMENT_EXACT_MAX = _int("SEGMENT_EXACT_MAX", 100_000)
        self.SEGMENT_SIZE_SECONDS = _int("SEGMENT_SIZE_SECONDS", 60)
        self.TREND_HALF_LIFE_SECONDS = _int("TREND_HALF_LIFE_SECONDS", 6 * 3600)
        self.SCHEDULE_POLL_SECONDS = _int("SCHEDULE_POLL_SECONDS", 1)  # due scheduled posts
        self.SCHEDULE_SWEEP_SECONDS = _int("SCHEDULE_SWEEP_SECONDS", 30)  # MongoDB safety sweep

        # Moderation.
        self.REPORT_HIDE_THRESHOLD = _int("REPORT_HIDE_THRESHOLD", 5)
        self.FAN_VIDEO_REVIEW = _bool("FAN_VIDEO_REVIEW", True)
        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_SCALE = float(_env("RATELIMIT_SCALE", "1"))  # multiplies every limit
        # An address a username signed in from is spared that username's own limit this long.
        self.LOGIN_KNOWN_ADDRESS_DAYS = _int("LOGIN_KNOWN_ADDRESS_DAYS", 30)
        for group, limit in RATE_LIMITS.items():
            setattr(self, f"RATELIMIT_{group}", _env(f"RATELIMIT_{group}", limit))

        # Processes.
        self.EMBEDDED_WORKER = _bool("EMBEDDED_WORKER", not self.production)
        self.WORKER_CONCURRENCY = _int("WORKER_CONCURRENCY", 4)
        self.DEMO_DATA = _bool("DEMO_DATA", not self.production)
        # Fault injection for the topology proof (bench/topology.py): the process kills itself
        # at the named point (app/faults.py). Unset in any real deployment.
        self.FAULT_INJECT = _env("FAULT_INJECT")
        # Embedded store (no MONGODB_URI): written under VAR_DIR/store when it changed, at most
        # this often, and at shutdown, and read back at start; 0 keeps it in memory only.
        self.STORE_SNAPSHOT_SECONDS = float(_env("STORE_SNAPSHOT_SECONDS", "2"))

        for key, value in overrides.items():
            setattr(self, key, value)

    @property
    def production(self) -> bool:
        """True when any component is pointed at a real server."""
        return bool(_env("MONGODB_URI") or _env("REDIS_URL") or _env("FLASK_PRODUCTION"))

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k.isupper()}



def queue_urls(redis_url: str, broker: str | None, message_queue: str | None) -> tuple[str, str]:
    """The Celery broker's and the Socket.IO message queue's URLs: each defaults to
    ``redis_url``; neither may be a Redis Cluster. Raises with what to set instead."""
    urls = {"CELERY_BROKER_URL": broker or redis_url,
            "SOCKETIO_MESSAGE_QUEUE": message_queue or redis_url}
    clustered = [name for name, url in urls.items() if is_cluster(url)]
    if clustered:
        raise RuntimeError(
            f"{' and '.join(clustered)} would be a Redis Cluster, but the Celery broker and "
            "the Socket.IO message queue need one plain Redis (kombu and python-socketio do "
            "not speak Cluster). With REDIS_URL=redis+cluster://..., set CELERY_BROKER_URL "
            "and SOCKETIO_MESSAGE_QUEUE to redis://host:port/0 (one plain Redis may carry both)."
        )
    return urls["CELERY_BROKER_URL"], urls["SOCKETIO_MESSAGE_QUEUE"]
