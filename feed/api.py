"""REST routes of the feed: follows, posts, likes, comments, views, feeds, channels, stats."""

from flask import current_app, g, jsonify, request

from app import etags
from app.accounts import service as accounts
from app.accounts.schemas import AccountPageSchema
from app.api import Blueprint
from app.auth import auth_optional, auth_required, current_account
from app.errors import ApiError
from app.etags import etagged
from app.idempotency import idempotent
from app.pagination import PageArgs, newest_first
from app.ratelimits import limit
from feed import (
    channels,
    follows,
    graph,
    hydrate,
    interactions,
    notifications,
    pagecache,
    posts,
    stats,
    timeline,
)
from feed.models import Follow, Post
from feed.schemas import (
    BlockResultSchema,
    CommentCreateSchema,
    CommentPageSchema,
    CommentSchema,
    FeedArgs,
    FeedPageSchema,
    FollowRequestSchema,
    FollowSchema,
    LikeSchema,
    MarkReadSchema,
    NotificationArgs,
    NotificationPageSchema,
    PostCreateSchema,
    PostPageSchema,
    PostSchema,
    PostUpdateSchema,
    PublishSchema,
    StatsArgs,
    StatsSchema,
)

bp = Blueprint("feed", __name__, description="Follows, posts, interactions and feeds")


# --- follow graph ----------------------------------------------------------------------


@bp.post("/accounts/<string:ref>/follow")
@limit("follow")
@auth_required()
@idempotent
@bp.arguments(FollowRequestSchema, required=False)
@bp.response(200, FollowSchema)
def follow(data, ref):
    return follows.follow(g.account, ref, (data or {}).get("notify"))


@bp.delete("/accounts/<string:ref>/follow")
@auth_required()
@bp.response(200, FollowSchema)
def unfollow(ref):
    return follows.unfollow(g.account, ref)


def _people(ref: str, args: dict, direction: str) -> dict:
    account = accounts.lookup(ref)
    rows, next_cursor = newest_first(Follow.objects(**{direction: account.id}), args["limit"],
                                     args["cursor"])
    other = "follower" if direction == "followee" else "followee"
    found = accounts.get_many([getattr(r, other) for r in rows])
    viewer = current_account()
    items = [graph.seen_by(found[str(getattr(r, other))], viewer)
             for r in rows if str(getattr(r, other)) in found
             and not found[str(getattr(r, other))].suspended]
    return {"items": items, "next_cursor": next_cursor}


@bp.get("/accounts/<string:ref>/followers")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, AccountPageSchema)
def followers(args, ref):
    return _people(ref, args, "followee")


@bp.get("/accounts/<string:ref>/following")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, AccountPageSchema)
def following(args, ref):
    return _people(ref, args, "follower")


@bp.get("/accounts/<string:ref>/posts")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, PostPageSchema)
def account_posts(args, ref):
    author = accounts.lookup(ref)
    viewer = current_account()
    if viewer is not None and str(author.id) in graph.blocked_by(viewer.id):
        return {"items": [], "next_cursor": None}
    return timeline.account_posts(author, viewer, args["limit"], args["cursor"])


def _block_routes(kind: str) -> None:
    @bp.post(f"/accounts/<string:ref>/{kind}", endpoint=f"{kind}_on")
    @limit("follow")
    @auth_required()
    @bp.response(200, BlockResultSchema)
    def on(ref):
        return follows.set_block(g.account, ref, kind, True)

    @bp.delete(f"/accounts/<string:ref>/{kind}", endpoint=f"{kind}_off")
    @auth_required()
    @bp.response(200, BlockResultSchema)
    def off(ref):
        return follows.set_block(g.account, ref, kind, False)


_block_routes("block")
_block_routes("mute")


# --- posts ------------------------------------------------------------------------------


@bp.post("/posts")
@limit("post")
@auth_required()
@idempotent
@bp.arguments(PostCreateSchema)
@bp.response(201, PostSchema)
def create_post(data):
    post = posts.create(g.account, data)
    return hydrate.post_json(post, g.account)


@bp.post("/posts/<string:post_id>/publish")
@limit("post")
@auth_required()
@bp.arguments(PublishSchema)
@bp.response(200, PostSchema)
def publish_post(data, post_id):
    """A draft or scheduled post goes out now, or at ``publish_at``."""
    post = posts.publish(g.account, post_id, data.get("publish_at"))
    return hydrate.post_json(post, g.account)


def _planned(status: str, args: dict) -> dict:
    rows, next_cursor = newest_first(Post.objects(author=g.account.id, status=status).only("id"),
                                     args["limit"], args["cursor"])
    return {"items": hydrate.posts_json([str(p.id) for p in rows], g.account),
            "next_cursor": next_cursor}


@bp.get("/accounts/me/drafts")
@auth_required()
@bp.arguments(PageArgs, location="query")
@bp.response(200, PostPageSchema)
def my_drafts(args):
    return _planned("draft", args)


@bp.get("/accounts/me/scheduled")
@auth_required()
@bp.arguments(PageArgs, location="query")
@bp.response(200, PostPageSchema)
def my_scheduled(args):
    return _planned("scheduled", args)


@bp.get("/posts/<string:post_id>")
@auth_optional
@etagged
@bp.response(200, PostSchema)
def get_post(post_id):
    viewer = current_account()
    post = posts.get_visible(post_id, viewer)
    data = hydrate.posts_json([str(post.id)], viewer, check=False)
    if not data:
        raise ApiError(404, "not_found", "no such post")
    return data[0]


@bp.patch("/posts/<string:post_id>")
@limit("post")
@auth_required()
@bp.arguments(PostUpdateSchema)
@bp.response(200, PostSchema)
def update_post(changes, post_id):
    post = posts.edit(g.account, post_id, changes)
    return hydrate.post_json(post, g.account)


@bp.delete("/posts/<string:post_id>")
@auth_required()
@bp.response(204)
def delete_post(post_id):
    posts.delete(g.account, post_id)


@bp.post("/posts/<string:post_id>/products/<int:index>/click")
@auth_optional
@bp.response(204)
def click_product(post_id, index):
    posts.click_product(post_id, index, current_account())


# --- interactions -----------------------------------------------------------------------


@bp.post("/posts/<string:post_id>/like")
@auth_required()
@idempotent
@bp.response(200, LikeSchema)
def like(post_id):
    return interactions.like(g.account, post_id)


@bp.delete("/posts/<string:post_id>/like")
@auth_required()
@bp.response(200, LikeSchema)
def unlike(post_id):
    return interactions.unlike(g.account, post_id)


@bp.get("/posts/<string:post_id>/comments")
@auth_optional
@etagged
@bp.arguments(PageArgs, location="query")
@bp.response(200, CommentPageSchema)
def comments(args, post_id):
    return interactions.list_comments(post_id, current_account(), args["limit"], args["cursor"])


@bp.post("/posts/<string:post_id>/comments")
@limit("comment")
@auth_required()
@idempotent
@bp.arguments(CommentCreateSchema)
@bp.response(201, CommentSchema)
def add_comment(data, post_id):
    return interactions.add_comment(g.account, post_id, data["text"], data.get("reply_to"))


@bp.delete("/comments/<string:comment_id>")
@auth_required()
@bp.response(204)
def delete_comment(comment_id):
    interactions.delete_comment(g.account, comment_id)


@bp.post("/posts/<string:post_id>/view")
@limit("view")
@auth_optional
@bp.response(204)
def view(post_id):
    device = request.headers.get("X-Device-Id", "")[:100] or None
    viewer = current_account()
    # a new anonymous device draws from the address's allowance (app/ratelimits.py)
    g.new_device_view = interactions.view(post_id, viewer, device) and viewer is None


# --- feeds, channels, notifications, stats ----------------------------------------------


@bp.get("/feed/home")
@auth_required(prefetch=pagecache.prefetch)
@etagged
@bp.arguments(FeedArgs, location="query")
@bp.response(200, FeedPageSchema)
def home(args):
    # hot path: ready JSON in the contract's shape, so skip the schema's dump (it only documents)
    body, etag = pagecache.home_page(g.account, args["limit"], args["cursor"], args["after"],
                                     g.prefetched)
    response = current_app.response_class(body, mimetype="application/json")
    return etags.tag(response, etag) if etag else response  # later pages: hashed by @etagged


@bp.get("/channels/<any(influencers, headlines, videos):name>")
@auth_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, PostPageSchema)
def channel(args, name):
    return jsonify(channels.read(name, current_account(), args["limit"], args["cursor"]))


@bp.get("/notifications")
@auth_required()
@bp.arguments(NotificationArgs, location="query")
@bp.response(200, NotificationPageSchema)
def list_notifications(args):
    """Notifications, newest first; with `grouped=true` grouped by type and post."""
    if args["grouped"]:
        return notifications.grouped_page(g.account, args["limit"], args["cursor"])
    return notifications.page(g.account, args["limit"], args["cursor"])


@bp.post("/notifications/read")
@auth_required()
@bp.arguments(MarkReadSchema)
@bp.response(204)
def read_notifications(data):
    notifications.mark_read(g.account, data["up_to"])


@bp.get("/accounts/me/stats")
@auth_required()
@bp.arguments(StatsArgs, location="query")
@bp.response(200, StatsSchema)
def my_stats(args):
    if g.account.kind not in ("merchant", "influencer"):
        raise ApiError(403, "forbidden", "stats are for merchants and influencers")
    return stats.account_stats(g.account, args["days"])
