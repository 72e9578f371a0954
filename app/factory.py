"""The app factory: one function builds the web app, the worker's app and the CLI's app."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

import feed.setup
import media.setup
import moderation.setup
import search.setup
from app import (
    asyncapi,
    auth,
    cli,
    contract,
    db,
    dbstats,
    headers,
    health,
    ratelimits,
    request_limits,
    runtime,
)
from app.accounts import service as accounts
from app.accounts.api import bp as accounts_bp
from app.api import API_PREFIX, Api, openapi_config
from app.celery_app import init_celery
from app.config import Config
from app.errors import ApiError, register_error_handlers, retry_after_only_when_meant
from app.extensions import socketio
from app.jsonio import OrjsonProvider
from app.pages import dashboard as dashboard_pages
from app.pages import moderation as moderation_pages
from app.pages import public as public_pages
from app.pages import rendering as page_rendering
from app.pages import signin as signin_pages
from app.pages.blueprint import bp as pages_bp
from app.push import setup as push_setup
from app.push.api import bp as push_bp
from app.sockets import server as sockets
from app.urls import absolutize
from feed.api import bp as feed_bp
from feed.campaign_api import bp as campaigns_bp
from feed.discover_api import bp as discover_bp
from feed.segment_api import bp as segments_bp
from media.api import bp as media_bp
from moderation.api import bp as moderation_bp
from search.api import bp as search_bp

log = logging.getLogger(__name__)

_BLUEPRINTS = (accounts_bp, campaigns_bp, discover_bp, segments_bp, feed_bp, media_bp,
               moderation_bp, search_bp, push_bp)
#: The page modules: importing them puts their views and template helpers on ``pages_bp``.
_PAGES = (dashboard_pages, moderation_pages, public_pages, page_rendering, signin_pages)
#: Each area's setup: its signal receivers, hooks, periodic jobs, commands and checks.
_SETUPS = (feed.setup, media.setup, moderation.setup, search.setup, push_setup)


def create_app(**overrides: object) -> Flask:
    """Build an app from the environment; ``overrides`` replace settings (tests)."""
    config = Config(**overrides)
    app = Flask(__name__)
    # No 308 redirects for "//" or a missing trailing slash: they answer outside the error
    # handlers (HTML, even under /api); a path is matched as sent, else it is a JSON 404.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.json = OrjsonProvider(app)
    app.config.from_mapping(config.as_dict())
    _secret_key(app, config)

    if app.config["MONGODB_COMMAND_STATS"]:
        dbstats.init_app(app)
    app.config["MONGO_BACKEND"] = db.connect(app.config["MONGODB_URI"],
                                             app.config["MONGODB_TIMEOUT_MS"],
                                             app.config["MONGODB_SOCKET_TIMEOUT_MS"])
    runtime.init_store(app)
    runtime.init_redis(app)
    auth.use_resolver(accounts.for_token)
    _init_extensions(app)
    _register_blueprints(app)
    health.init_app(app)
    asyncapi.init_app(app)
    _finish_contract(app)
    headers.init_app(app)
    cli.init_app(app)
    sockets.init_app(app)
    for area in _SETUPS:
        area.init_app(app)
    _trust_proxies(app)
    request_limits.init_app(app)  # outermost: refuses before anything else runs
    runtime.start(app)
    return app


def _secret_key(app: Flask, config: Config) -> None:
    if config.SECRET_KEY:
        app.secret_key = config.SECRET_KEY
    elif config.production:
        raise RuntimeError(
            "SECRET_KEY is not set. Production mode (MONGODB_URI/REDIS_URL set) refuses to start "
            "without it: export SECRET_KEY=<a long random string shared by every process>."
        )
    else:
        app.secret_key = secrets.token_hex(32)  # embedded: sessions last as long as the process


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` proxies the client is the address the nearest of them saw
    (Werkzeug's ``ProxyFix``): rate limits and sign-in protection then key on each client,
    not on the proxy that every request comes from. With 0 the headers are ignored, since a
    client could then claim any address. Wraps everything (Socket.IO included)."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _init_extensions(app: Flask) -> None:
    app.config.update(openapi_config())
    app.extensions["api"] = Api(app)
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]  # limits speaks redis+cluster://
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    # Redis down: the request goes on (and answers 503 where it needs Redis), instead of
    # a 500 from the limiter's check or its response headers.
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    # registered before the limiter's own: after-request hooks run last-registered first
    app.after_request(retry_after_only_when_meant)
    app.after_request(absolutize)
    ratelimits.limiter.init_app(app)
    ratelimits.install_defaults()
    socketio.init_app(
        app,
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        async_mode="threading",
        cors_allowed_origins="*",
        max_http_buffer_size=64 * 1024,
    )
    init_celery(app)


def _register_blueprints(app: Flask) -> None:
    api = app.extensions["api"]
    for blueprint in _BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    app.register_blueprint(pages_bp)
    register_error_handlers(app)

    @app.before_request
    def _limit_json_bodies():
        """Only media uploads may be large; everything else is capped at JSON_MAX_BYTES."""
        if request.path.startswith(("/api/v1/media", "/api/v1/uploads")):
            return
        limit = app.config["JSON_MAX_BYTES"]
        request.max_content_length = limit
        too_large = ApiError(413, "too_large", f"request bodies are limited to {limit} bytes")
        if request.content_length is not None:
            streamed_over = request.content_length > limit
        else:  # a chunked body is read up to the limit; reaching it means there was more
            chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
            streamed_over = chunked and len(request.get_data(cache=True)) >= limit
        if streamed_over:
            raise too_large


def _finish_contract(app: Flask) -> None:
    def finisher(spec: dict) -> dict:
        with app.app_context():
            return contract.finish(spec, app, ratelimits.group_of, ratelimits.documented_limits)

    app.extensions["api"].finisher = finisher


def create_cli_app() -> Flask:
    """The app for ``flask`` commands: no embedded worker, no demo data, and an embedded store
    of its own (the server's lives in the server process)."""
    return create_app(EMBEDDED_WORKER=False, DEMO_DATA=False, STORE_SNAPSHOT_SECONDS=0)
