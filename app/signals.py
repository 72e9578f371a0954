"""Domain events that let packages react to each other without importing each other.

Senders pass the changed object as the sender; receivers connect in their package's
``init_app``. Receivers must be quick: slow work goes to a Celery job.
"""

from blinker import Namespace

_signals = Namespace()

post_saved = _signals.signal("post-saved")  # sender: Post (created, edited or status changed)
post_deleted = _signals.signal("post-deleted")  # sender: Post (about to be deleted)
media_ready = _signals.signal("media-ready")  # sender: Media
media_failed = _signals.signal("media-failed")  # sender: Media
moderation_decided = _signals.signal("moderation-decided")  # sender: ModerationItem
account_changed = _signals.signal("account-changed")  # sender: Account (profile, suspension)
account_deleted = _signals.signal("account-deleted")  # sender: Account (about to be deleted)
content_held = _signals.signal("content-held")  # sender: Post or Comment; kwargs: reasons
# sender: Post; kwargs: action (viewed|liked|commented|clicked_product), actor (Account or
# None), who ("a:<account id>" or "d:<device id>"): a first like, a published comment, a new
# unique viewer, a product click. Trends, learned interests and segments follow it.
post_engaged = _signals.signal("post-engaged")
# sender: Account (the follower); kwargs: target (Account): a new follow
followed = _signals.signal("followed")
# sender: the account told (id); kwargs: payload (the ``notification`` event): a notification
# was stored (push sends it to the account's devices when it has no open socket)
notified = _signals.signal("notified")
unfollowed = _signals.signal("unfollowed")  # sender: Account (the follower); kwargs: target
worker_stopping = _signals.signal("worker-stopping")  # sender: None; a stopping worker's jobs
# are running past its grace: receivers interrupt them so that they hand themselves back
