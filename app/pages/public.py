"""The public pages: a merchant's or influencer's account page, one post, one campaign.

Everything shown comes from the same service functions as the API, with the same
visibility rules: ``timeline.account_posts`` (audience rules, statuses, suspensions),
``posts.get_visible``, ``campaigns.entries``; blocked viewers see no posts.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from app.accounts import service as accounts
from app.accounts.models import USERNAME_RE, Account
from app.accounts.schemas import AccountSchema
from app.auth import current_account
from app.errors import ApiError
from app.pages import layout
from app.pages.blueprint import bp
from app.pages.rendering import not_found, render
from app.pages.security import csrf_ok
from app.pages.signin import safe_next
from app.ratelimits import limit
from feed import campaigns, follows, foryou, graph, hydrate, interactions, posts, timeline
from feed.campaign_api import CampaignSchema
from feed.schemas import CommentSchema

PAGE_KINDS = ("merchant", "influencer")
POSTS_PER_PAGE = 20
VIDEOS_PER_PAGE = 12
ENTRIES_PER_PAGE = 24
RECOMMENDED = 4


def _account(username: str, page_kinds: tuple[str, ...] | None = PAGE_KINDS) -> Account | None:
    """The live account behind a username (None if unknown, suspended or without a page)."""
    if not USERNAME_RE.match(username or ""):
        return None
    try:
        account = accounts.lookup("@" + username)
    except ApiError:
        return None
    if page_kinds and account.kind not in page_kinds:
        return None
    return account


def _blocked(viewer: Account | None, author: Account) -> bool:
    return viewer is not None and str(author.id) in graph.blocked_by(viewer.id)


def _text_posts(author: Account, viewer: Account | None, cursor: str | None) -> tuple[list, str | None]:
    """Posts and headlines (videos have their own section), newest first."""
    found: list[dict] = []
    for _ in range(4):
        page = timeline.account_posts(author, viewer, POSTS_PER_PAGE, cursor)
        found += [p for p in page["items"] if p["kind"] != "video"]
        cursor = page["next_cursor"]
        if len(found) >= POSTS_PER_PAGE or cursor is None:
            break
    if len(found) > POSTS_PER_PAGE:
        found = found[:POSTS_PER_PAGE]
        return found, found[-1]["cursor"]
    return found, cursor


@bp.get("/m/<username>")
def account_page(username: str):
    viewer = current_account()
    author = _account(username)
    if author is None:
        return not_found("没有这个账号,或它已被停用。")
    cursor = request.args.get("cursor") or None
    text_posts: list[dict] = []
    videos: list[dict] = []
    more_posts = None
    if not _blocked(viewer, author):
        try:
            text_posts, more_posts = _text_posts(author, viewer, cursor)
        except ApiError:  # a cursor we did not make: start from the top
            text_posts, more_posts = _text_posts(author, viewer, None)
        videos = timeline.account_posts(author, viewer, VIDEOS_PER_PAGE, kind="video")["items"]
    active = CampaignSchema(many=True).dump(campaigns.account_campaigns(
        author, limit=10, states=("active", "upcoming"))["items"])
    segment = layout.viewer_segment(viewer, author.page_layout)
    picks: list[dict] = []
    if (viewer is not None and viewer.kind == "fan" and author.kind == "merchant"
            and not _blocked(viewer, author)):
        picks = foryou.recommended(author, viewer, RECOMMENDED)
    return render(
        "account.html",
        account=AccountSchema().dump(graph.seen_by(author, viewer)),
        sections=layout.section_order(author.page_layout, segment),
        segment=segment,
        posts=text_posts,
        more_posts=more_posts,
        videos=videos,
        campaigns=active,
        own=viewer is not None and viewer.id == author.id,
        posts_count=timeline.visible_count(author, viewer),
        recommended=picks,
    )


@bp.post("/m/<username>/follow")
@limit("follow")
def follow(username: str):
    """The page's follow button (a plain form; the API does the same for apps)."""
    author = _account(username)
    if author is None:
        return not_found("没有这个账号,或它已被停用。")
    viewer = current_account()
    if viewer is None:
        return redirect(url_for("pages.login", next=f"/m/{author.username}"), 303)
    if not csrf_ok():
        return render("message.html", 400, title="表单已过期", message="请返回页面后重试。")
    try:
        if request.form.get("action") == "unfollow":
            follows.unfollow(viewer, str(author.id))
        else:
            follows.follow(viewer, str(author.id))
    except ApiError as exc:
        return render("message.html", exc.status, title="无法关注", message=exc.message)
    return redirect(url_for("pages.account_page", username=author.username), 303)


@bp.get("/m/<username>/p/<post_id>")
def post_page(username: str, post_id: str):
    viewer = current_account()
    author = _account(username, page_kinds=None)
    if author is None:
        return not_found("没有这个账号,或它已被停用。")
    try:
        post = posts.get_visible(post_id, viewer)
    except ApiError:
        return not_found("没有这条内容,或你无法查看它。")
    if post.author != author.id:
        return not_found("没有这条内容,或你无法查看它。")
    found = hydrate.posts_json([str(post.id)], viewer, check=False)
    if not found:
        return not_found("没有这条内容,或你无法查看它。")
    comments = CommentSchema(many=True).dump(
        interactions.list_comments(str(post.id), viewer, 50, None)["items"])
    campaign = None
    if post.campaign_id:
        try:
            campaign = CampaignSchema().dump(campaigns.shown(campaigns.get(str(post.campaign_id))))
        except ApiError:
            campaign = None
    return render("post.html", post=found[0],
                  account=AccountSchema().dump(graph.seen_by(author, viewer)),
                  comments=comments, campaign=campaign)


def _back(default: str) -> str:
    """Where a card's form returns to: a path of our pages, never another site."""
    target = safe_next(request.form.get("back"))
    return target if target and target.startswith(("/m/", "/t/", "/c/")) else default


def _form_viewer(here: str):
    """The signed-in viewer of a page's form, or the answer to give instead: sign in first
    (then back ``here``), or a stale form."""
    viewer = current_account()
    if viewer is None:
        return None, redirect(url_for("pages.login", next=here), 303)
    if not csrf_ok():
        return None, render("message.html", 400, title="表单已过期", message="请返回页面后重试。")
    return viewer, None


@bp.post("/m/<username>/p/<post_id>/like")
@limit("post")
def like(username: str, post_id: str):
    """A card's like button (a plain form; the API does the same for apps)."""
    here = f"/m/{username}/p/{post_id}"
    viewer, answer = _form_viewer(here)
    if answer is not None:
        return answer
    try:
        if request.form.get("action") == "unlike":
            interactions.unlike(viewer, post_id)
        else:
            interactions.like(viewer, post_id)
    except ApiError as exc:
        return render("message.html", exc.status, title="无法点赞", message=exc.message)
    return redirect(_back(here) + f"#post-{post_id}", 303)


@bp.post("/m/<username>/p/<post_id>/comments")
@limit("comment")
def comment(username: str, post_id: str):
    """The post page's comment form."""
    here = f"/m/{username}/p/{post_id}"
    viewer, answer = _form_viewer(here)
    if answer is not None:
        return answer
    text = (request.form.get("text") or "").strip()
    if not text or len(text) > 2000:
        return render("message.html", 400, title="无法评论", message="评论需要 1 到 2000 个字。")
    try:
        interactions.add_comment(viewer, post_id, text)
    except ApiError as exc:
        return render("message.html", exc.status, title="无法评论", message=exc.message)
    return redirect(here + "#comments", 303)


@bp.get("/t/<tag>")
def tag_page(tag: str):
    """Posts with a tag (``GET /tags/{tag}/posts`` as a page): tags on every card link here."""
    found = posts.normalize_tags([tag[:41]])
    if not found or len(found[0]) > 40:
        return not_found("没有这个标签。")
    try:
        page = timeline.tagged_posts(found[0], current_account(), POSTS_PER_PAGE,
                                     request.args.get("cursor") or None)
    except ApiError:  # a cursor we did not make: start from the top
        page = timeline.tagged_posts(found[0], current_account(), POSTS_PER_PAGE, None)
    return render("tag.html", tag=found[0], posts=page["items"], next_cursor=page["next_cursor"])


@bp.get("/c/<campaign_id>")
def campaign_page(campaign_id: str):
    viewer = current_account()
    try:
        campaign = campaigns.get(campaign_id)
    except ApiError:
        return not_found("没有这个活动。")
    sort = request.args.get("sort", "new")
    if sort not in campaigns.SORTS:
        sort = "new"
    try:
        page = campaigns.entries(campaign, viewer, sort, ENTRIES_PER_PAGE,
                                 request.args.get("cursor") or None)
    except ApiError:
        page = campaigns.entries(campaign, viewer, sort, ENTRIES_PER_PAGE, None)
    return render("campaign.html", campaign=CampaignSchema().dump(campaigns.shown(campaign)),
                  sort=sort,
                  entries=page["items"], next_cursor=page["next_cursor"])
