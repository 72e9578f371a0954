"""``/admin/moderation``: the review queue with previews, one-click decisions, the audit log.

Decisions are plain forms posted with the page's session and CSRF token; they call
``moderation.service.decide``, the same function as ``POST /moderation/queue/{id}/decision``
(the session cookie is not a credential on ``/api``, so the page posts to itself).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from markupsafe import Markup, escape

from app.accounts import service as accounts
from app.auth import current_account
from app.errors import ApiError
from app.pages.blueprint import bp
from app.pages.rendering import forbidden, render
from app.pages.security import csrf_ok
from moderation import service
from moderation.schemas import ModerationAuditSchema, ModerationItemSchema

QUEUE_SIZE = 50
AUDIT_SIZE = 30
ACTIONS = {"approve": "通过", "reject": "拒绝", "remove": "下架", "restore": "恢复"}
FIELD_NAMES = {"text": "正文", "title": "标题", "body": "文章", "display_name": "昵称",
               "bio": "简介"}

_item = ModerationItemSchema()


def highlight(text: str, spans: list[tuple[int, int]]) -> Markup:
    """``text`` escaped, with each (start, end) span wrapped in ``<mark>`` (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(str(escape(text[pos:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def _field_text(target: dict, field: str) -> str:
    """A field of the target's JSON by the highlight's name (``products.0.title``)."""
    value: Any = target
    for part in field.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return ""
    return value if isinstance(value, str) else ""


def preview_fields(item: dict) -> list[dict]:
    """The texts a moderator reads, with the matched terms marked."""
    target = item.get("target") or {}
    if item["target_type"] == "account":
        names = ["display_name", "bio"]
    elif item["target_type"] == "comment":
        names = ["text"]
    else:
        names = ["title", "text", "body"] + [f"products.{i}.title"
                                             for i in range(len(target.get("products") or []))]
    spans: dict[str, list[tuple[int, int]]] = {}
    for mark in item.get("highlights") or []:
        spans.setdefault(mark["field"], []).append((mark["start"], mark["end"]))
    fields = []
    for name in names:
        text = _field_text(target, name)
        if text:
            label = FIELD_NAMES.get(name, "商品" if name.startswith("products.") else name)
            fields.append({"name": name, "label": label, "html": highlight(text, spans.get(name, []))})
    return fields


def _moderator():
    viewer = current_account()
    if viewer is None:
        return None, redirect(url_for("pages.login", next="/admin/moderation"), 303)
    if not viewer.has_role("moderator"):
        return None, forbidden("审核后台只对审核员开放。")
    return viewer, None


@bp.get("/admin/moderation")
def moderation_queue():
    viewer, refusal = _moderator()
    if refusal is not None:
        return refusal
    status = request.args.get("status", "pending")
    if status not in ("pending", "approved", "rejected", "removed", "restored", "all"):
        status = "pending"
    items, _ = service.list_items(status=status, limit=QUEUE_SIZE)
    shown = []
    for item in items:
        data = _item.dump(service.shown_item(item))
        data["fields"] = preview_fields(data)
        data["actions"] = [a for a in ACTIONS if item.status in service.TRANSITIONS[a]]
        shown.append(data)
    entries, _ = service.list_audit(limit=AUDIT_SIZE)
    moderators = accounts.get_many([e.moderator_id for e in entries])
    audit = ModerationAuditSchema(many=True).dump(
        [service.shown_audit(e, moderators) for e in entries])
    return render("moderation.html", items=shown, audit=audit, status=status, actions=ACTIONS,
                  notice=request.args.get("done"), error=None)


@bp.post("/admin/moderation/<item_id>/decision")
def moderation_decide(item_id: str):
    viewer, refusal = _moderator()
    if refusal is not None:
        return refusal
    if not csrf_ok():
        return render("message.html", 400, title="表单已过期", message="请刷新审核页面后重试。")
    action = request.form.get("action", "")
    if action not in ACTIONS:
        return render("message.html", 400, title="无效操作", message="未知的审核操作。")
    reason = request.form.get("reason", "").strip()[:500] or None
    try:
        service.decide(item_id, viewer, action, reason)
    except ApiError as exc:
        return render("message.html", exc.status, title="操作未完成", message=exc.message)
    status = request.form.get("status", "pending")
    return redirect(url_for("pages.moderation_queue", status=status, done=action), 303)
