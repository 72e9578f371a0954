"""What every page template gets: the viewer, the CSRF token, and small display helpers."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Response, make_response, render_template, request

from app.auth import current_account
from app.pages.blueprint import bp
from app.pages.security import CSRF_FIELD, csrf_token

SITE_NAME = "Fanhub"
STATUS_NAMES = {"draft": "草稿", "scheduled": "定时发布", "published": "已发布", "processing": "处理中",
                "pending_review": "审核中",
                "failed": "失败", "rejected": "未通过", "removed": "已下架"}


@bp.context_processor
def _context() -> dict[str, Any]:
    return {"viewer": current_account(), "csrf_token": csrf_token, "csrf_field": CSRF_FIELD,
            "site_name": SITE_NAME, "video_of": video_of, "poster_of": poster_of,
            "cover_of": cover_of, "summary_of": summary_of}


@bp.app_template_filter("abs_url")
def abs_url(url: str | None) -> str | None:
    """An absolute URL for Open Graph tags (media URLs are often site-relative)."""
    return urljoin(request.host_url, url) if url else None


@bp.app_template_filter("safe_url")
def safe_url(url: str | None) -> str:
    """Links users gave (products): only http(s); anything else becomes a dead ``#``."""
    if not url or urlsplit(url.strip()).scheme.lower() not in ("http", "https"):
        return "#"
    return url.strip()


@bp.app_template_filter("when")
def when(value: str | None) -> str:
    """``2026-11-24T08:00:00.000Z`` -> ``2026-11-24 08:00`` (UTC; the page script localizes)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("status_name")
def status_name(status: str | None) -> str:
    return STATUS_NAMES.get(status or "", status or "")


@bp.app_template_filter("num")
def num(value: int | None) -> str:
    return f"{value or 0:,}"


@bp.app_template_filter("excerpt")
def excerpt(text: str | None, length: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def video_of(post: dict) -> dict | None:
    """The first ready video of a post, as the player needs it."""
    for media in post.get("media") or []:
        if media.get("type") == "video" and media.get("status") == "ready" and media.get("hls_url"):
            renditions = media.get("renditions") or []
            return {"id": media["id"], "hls": media["hls_url"], "poster": media.get("poster_url"),
                    "mp4": renditions[0]["url"] if renditions else None,
                    "width": media.get("width"), "height": media.get("height")}
    return None


def poster_of(post: dict) -> str | None:
    """A picture for sharing a post: a video poster or an image."""
    for media in post.get("media") or []:
        if media.get("status") == "ready" and media.get("poster_url"):
            return media["poster_url"]
    return None


_IMG_SRC = re.compile(r'<img[^>]*\ssrc="(https?://[^"]+)"')
_BLOCK_ENDS = re.compile(r"</(?:p|h[1-6]|li|div|blockquote|pre|tr|td|th|figcaption)>|<br\s*/?>",
                         re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def cover_of(post: dict) -> str | None:
    """A headline card's cover: its first image (or video poster), else the first picture
    in its body."""
    for media in post.get("media") or []:
        if media.get("status") == "ready" and (media.get("url") if media.get("type") == "image"
                                               else media.get("poster_url")):
            return media.get("url") if media.get("type") == "image" else media["poster_url"]
    found = _IMG_SRC.search(post.get("body_html") or "")
    return html.unescape(found.group(1)) if found else None


def summary_of(post: dict, length: int = 90) -> str:
    """A headline card's excerpt: the start of its body as plain text."""
    text = _TAGS.sub("", _BLOCK_ENDS.sub(" ", post.get("body_html") or ""))
    return excerpt(html.unescape(text), length)


def render(template: str, status: int = 200, /, **context: Any) -> Response:
    """The page with its HTTP status; ``status`` is positional so a template variable of that
    name (the moderation queue's filter) never becomes the HTTP status."""
    return make_response(render_template(template, **context), status)


def not_found(message: str = "找不到这个页面。") -> Response:
    """The friendly 404 page (unknown or suspended accounts, hidden posts, missing campaigns)."""
    return render("not_found.html", 404, message=message)


def forbidden(message: str = "你没有权限查看这个页面。") -> Response:
    return render("forbidden.html", 403, message=message)
