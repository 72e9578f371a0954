"""Absolute URLs in every API body: media, posters, renditions, HLS, the tus ``Location``.

Apps resolve nothing themselves: a URL in a body is absolute. With ``PUBLIC_BASE_URL`` set
(production: the address clients use, e.g. the CDN or the load balancer) storage builds
absolute URLs from it, and what is cached (post JSON, kept feed pages) and what workers
emit (``media.ready``) is absolute already. Without it (the embedded default) the base is the
request's own address: the stored files' paths (``/media-files/...``) in an ``/api`` JSON
answer are prefixed with it on the way out (``absolutize``), one scan of the body.
"""

from __future__ import annotations

from flask import Response, current_app, request

FILES_PATH = "/media-files"


def public_base() -> str:
    """``PUBLIC_BASE_URL``, else the request's own scheme and host."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    return (configured or request.host_url).rstrip("/")


def absolute(path: str) -> str:
    """``path`` on the public base (a URL with a scheme is returned as it is)."""
    if "://" in path:
        return path
    return public_base() + (path if path.startswith("/") else f"/{path}")


def files_prefix() -> str:
    return (current_app.config.get("MEDIA_URL_PATH") or FILES_PATH).rstrip("/")


def absolutize(response: Response) -> Response:
    """After-request hook: stored files' paths in an /api JSON body become absolute URLs."""
    if (current_app.config.get("PUBLIC_BASE_URL") or response.direct_passthrough
            or not request.path.startswith("/api/") or response.mimetype != "application/json"
            or response.status_code >= 300):
        return response
    prefix = files_prefix()
    if prefix.startswith("/"):
        body = response.get_data()
        needle = f'"{prefix}/'.encode()
        if needle in body:
            response.set_data(body.replace(needle, f'"{public_base()}{prefix}/'.encode()))
    return response
