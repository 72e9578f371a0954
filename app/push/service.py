"""Push: devices, preferences, and who is sent what.

Nothing is pushed to an account with an open socket (it gets the live event), nor of a type
it turned off. Notifications were already filtered where they are made (blocked and muted
actors, posts the recipient may not see); a followed account's new post (``posts``, for
follows with ``notify: true``) is checked here per recipient: not when the recipient muted
or blocked the author, nor when the post is not visible to them (audience, blocks).

A post by an account with many such followers is one job that enqueues batches of
``PUSH_BATCH`` followers (``push_batch``), each of which sends one job per device
(``deliver``): a device's retries never resend to the others.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from bson import ObjectId
from flask import current_app
from mongoengine.errors import NotUniqueError

from app import jobs, presence
from app.accounts import service as accounts
from app.accounts.schemas import AccountSchema
from app.errors import ApiError
from app.extensions import redis_client
from app.push.models import TYPES, PushDevice, PushPreferences
from app.push.providers import Apns, Fcm, PushError, Transient, Unregistered, WebPush
from feed import graph, hydrate

log = logging.getLogger(__name__)


# --- devices and preferences ---------------------------------------------------------------


def register_device(account: Any, data: dict) -> PushDevice:
    platform = data["platform"]
    if platform == "webpush":
        sub = data.get("subscription") or {}
        keys = sub.get("keys") or {}
        if not (isinstance(sub.get("endpoint"), str) and sub["endpoint"].startswith("https://")
                or current_app.config["PUSH_ALLOW_HTTP_ENDPOINTS"]) or \
                not (keys.get("p256dh") and keys.get("auth")):
            raise ApiError(400, "validation_error", "a Web Push subscription is needed",
                           {"subscription": ["{endpoint (https), keys: {p256dh, auth}}"]})
        key, token, subscription = sub["endpoint"], None, {
            "endpoint": sub["endpoint"], "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}
    else:
        if not data.get("token"):
            raise ApiError(400, "validation_error", "a device token is needed",
                           {"token": ["required for apns and fcm"]})
        key, token, subscription = data["token"], data["token"], None
    existing = PushDevice.objects(account=account.id, key=key).first()
    if existing is not None:
        return existing
    device = PushDevice(account=account.id, platform=platform, token=token,
                        subscription=subscription, key=key)
    try:
        device.save(force_insert=True)
    except NotUniqueError:  # the same device registered twice at once
        return PushDevice.objects(account=account.id, key=key).first()
    PushDevice.objects(key=key, account__ne=account.id).delete()  # a phone changed hands
    return device


def delete_device(account: Any, device_id: str) -> None:
    device = PushDevice.objects(id=device_id).first() if ObjectId.is_valid(device_id) else None
    if device is None or device.account != account.id:
        raise ApiError(404, "not_found", "no such device")
    device.delete()


def preferences(account_id: object) -> dict[str, bool]:
    found = PushPreferences.objects(account=account_id).first()
    chosen = found.types if found else {}
    return {kind: bool(chosen.get(kind, True)) for kind in TYPES}


def set_preferences(account: Any, changes: dict[str, bool]) -> dict[str, bool]:
    merged = {**preferences(account.id), **changes}
    PushPreferences.objects(account=account.id).update_one(upsert=True, set__types=merged)
    return merged


# --- what is sent ------------------------------------------------------------------------

_TITLES = {
    "follow": "{actor} followed you", "like": "{actor} liked your post",
    "comment": "{actor} commented on your post", "mention": "{actor} mentioned you",
    "reply": "{actor} replied to your comment", "moderation": "About your content",
    "media": "Your video is ready", "posts": "{actor} posted",
}


def note(kind: str, actor: dict | None, post_id: str | None, text: str = "",
         badge: int = 0, collapse: str | None = None) -> dict:
    """What a device shows, and what collapses: one notice per type and post (or actor)."""
    name = (actor or {}).get("display_name") or (actor or {}).get("username") or "Fanhub"
    collapse = collapse or f"{kind}:{post_id or (actor or {}).get('id', '')}"
    data = {"type": kind}
    if post_id:
        data["post_id"] = post_id
    if actor:
        data["actor_id"] = actor.get("id", "")
    return {"title": _TITLES.get(kind, "Fanhub").format(actor=name), "body": text[:180],
            "badge": badge, "collapse_id": collapse, "thread": kind,
            "topic": hashlib.blake2b(collapse.encode(), digest_size=16).hexdigest(),
            "data": data}


def _enqueue_devices(account_ids: list[str], message: dict) -> int:
    sent = 0
    for device in PushDevice.objects(account__in=account_ids).only("id"):
        jobs.enqueue("app.push.tasks.deliver", str(device.id), message)
        sent += 1
    return sent


def on_notified(account_id: object, payload: dict | None = None, **_: Any) -> None:
    """``notified`` receiver: an account with no open socket gets it on its devices."""
    payload = payload or {}
    kind = payload.get("type", "")
    message = note(kind, payload.get("actor") or {}, payload.get("post_id"),
                   badge=payload.get("unread_count", 0))
    _push_to(account_id, kind, message)


def _push_to(account_id: object, kind: str, message: dict) -> None:
    """One account's devices, unless it turned ``kind`` off or has an open socket."""
    try:
        if preferences(account_id).get(kind, True) and not presence.online([account_id]):
            _enqueue_devices([str(account_id)], message)
    except Exception:  # push is best effort
        log.exception("push for %s not queued", account_id)


def on_media_ready(media: Any, **_: Any) -> None:
    """``media_ready`` receiver: the owner hears that a video finished processing."""
    if getattr(media, "type", "") != "video":
        return
    message = note("media", None, None, collapse=f"media:{media.id}")
    message["data"]["media_id"] = str(media.id)
    _push_to(media.owner, "media", message)


def on_moderation_decided(item: Any, **_: Any) -> None:
    """``moderation_decided`` receiver: the author hears of a decision on their content."""
    if not getattr(item, "author_id", None):
        return
    post_id = item.target_id if item.target_type == "post" else None
    message = note("moderation", None, post_id, f"{item.target_type}: {item.decision}",
                   collapse=f"moderation:{item.target_type}:{item.target_id}")
    message["data"].update(target_type=item.target_type, target_id=item.target_id,
                           action=item.decision or "")
    _push_to(item.author_id, "moderation", message)


def on_post_saved(post: Any, before: str | None = None, **_: Any) -> None:
    """A post just published: its author's notify-followers are pushed (one job)."""
    if post.status != "published" or before == "published":
        return
    try:
        jobs.enqueue("app.push.tasks.push_post", str(post.id))
    except Exception:
        log.exception("push of post %s not queued", post.id)


def push_post(post_id: str) -> int:
    """Enqueue the batches of a post's push; returns how many followers were enqueued.
    Once per post (a marker), however often the job runs."""
    item = hydrate.load([post_id]).get(post_id)
    if item is None or item["status"] != "published":
        return 0
    if not redis_client.set(f"push-post:{post_id}", 1, nx=True, ex=7 * 24 * 3600):
        return 0
    enqueued = 0
    with jobs.producer() as producer:  # one connection for every batch
        for chunk in graph.notify_followers(item["author_id"],
                                            int(current_app.config["PUSH_BATCH"])):
            jobs.enqueue("app.push.tasks.push_batch", post_id, chunk, producer=producer)
            enqueued += len(chunk)
    return enqueued


def push_batch(post_id: str, account_ids: list[str]) -> int:
    """Send a post's push to those of ``account_ids`` who want it, are away and may see it."""
    item = hydrate.load([post_id]).get(post_id)
    if item is None:
        return 0
    author = accounts.get(item["author_id"])
    if author is None:
        return 0
    away = [a for a in account_ids if a not in presence.online(account_ids)]
    wanted = []
    for account_id in away:
        viewer = accounts.get(account_id)
        if viewer is None or not preferences(account_id)["posts"]:
            continue
        if str(author.id) in graph.hidden_ids(account_id):  # muted or blocked the author
            continue
        if hydrate.post_json(post_id, viewer) is None:  # audience, blocks, status
            continue
        wanted.append(account_id)
    text = item.get("title") or item.get("text") or ""
    return _enqueue_devices(wanted, note("posts", AccountSchema().dump(author), post_id, text))


def _senders() -> dict[str, Any]:
    ext = current_app.extensions
    if "push_senders" not in ext:
        config, senders = current_app.config, {}
        if config.get("APNS_KEY"):
            senders["apns"] = Apns(config)
        if config.get("FCM_SERVICE_ACCOUNT"):
            senders["fcm"] = Fcm(config)
        if config.get("VAPID_PRIVATE_KEY"):
            senders["webpush"] = WebPush(config)
        ext["push_senders"] = senders
    return ext["push_senders"]


def deliver(device_id: str, message: dict) -> str:
    """Send one message to one device: ``sent``, ``removed`` (unregistered), ``skipped``.
    ``Transient`` errors propagate (the job retries)."""
    device = PushDevice.objects(id=device_id).first()
    if device is None:
        return "skipped"
    sender = _senders().get(device.platform)
    if sender is None:
        log.warning("no %s credentials configured: push to %s skipped", device.platform,
                    device_id)
        return "skipped"
    try:
        sender.send(device, message)
    except Unregistered as exc:
        log.info("device %s unregistered (%s): removed", device_id, exc)
        device.delete()
        return "removed"
    except Transient:
        raise
    except PushError as exc:
        log.warning("push to %s refused: %s", device_id, exc)
        return "refused"
    return "sent"
