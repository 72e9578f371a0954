"""Headline bodies: Markdown to sanitized HTML, in bounded time.

markdown-it-py parses CommonMark in time linear in the body (the old ``markdown`` package
was quadratic on ``[[[[...``); the render also stops after ``MARKDOWN_RENDER_SECONDS`` of
its thread's CPU time (not wall time, so a busy machine does not refuse honest bodies), so a
construct nobody has found yet still cannot hold a worker; nh3 sanitizes the result.
"""

from __future__ import annotations

import time

import nh3
from flask import current_app, has_app_context
from markdown_it import MarkdownIt

from app.errors import ApiError

HEADLINE_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i",
                 "u", "s", "del", "blockquote", "code", "pre", "ul", "ol", "li", "a", "img",
                 "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "figure", "figcaption"}
DEFAULT_RENDER_SECONDS = 2.0


CHECK_EVERY = 64  # parser steps between two looks at the clock (a look is a system call)


class _OverBudget(Exception):
    pass


def _check_inline(state, silent: bool) -> bool:
    env = state.env
    env["steps"] += 1
    if env["steps"] % CHECK_EVERY == 0 and time.thread_time() > env["deadline"]:
        raise _OverBudget
    return False  # never consumes input: the real rules go on


def _check_block(state, start_line: int, end_line: int, silent: bool) -> bool:
    return _check_inline(state, silent)


def _parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough; raw HTML and every link are kept for nh3.

    nh3 is the one sanitizer: it drops what is unsafe (``javascript:`` links lose their href,
    as before), so markdown-it's own link filter is turned off rather than leaving the link
    as visible text.
    """
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True
    md.inline.ruler.before("text", "deadline", _check_inline)
    md.block.ruler.before("table", "deadline", _check_block)
    return md


_MD = _parser()


def render_markdown(body: str, seconds: float | None = None) -> str:
    """Markdown to HTML, then sanitized: no scripts, event handlers or javascript: links.

    Past ``seconds`` (``MARKDOWN_RENDER_SECONDS``) of CPU the body is refused with a 422.
    """
    if seconds is None:
        seconds = (current_app.config.get("MARKDOWN_RENDER_SECONDS", DEFAULT_RENDER_SECONDS)
                   if has_app_context() else DEFAULT_RENDER_SECONDS)
    try:
        html = _MD.render(body, {"deadline": time.thread_time() + seconds, "steps": 0})
    except _OverBudget:
        raise ApiError(422, "body_too_complex", "the body takes too long to render",
                       {"body": ["too complex to render; simplify the Markdown"]}) from None
    return nh3.clean(
        html,
        tags=HEADLINE_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"},
                    "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
    )
