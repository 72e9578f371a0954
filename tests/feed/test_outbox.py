"""The fan-out outbox: a post stored without its fan-out queued (the web process died in
between) still reaches its followers, through the sweep; a delivered post leaves the outbox."""

from __future__ import annotations

from datetime import timedelta

from tests.support import wait_for


def _outbox(app, post_id: str):
    from feed.models import Post

    with app.app_context():
        return Post.objects(id=post_id).first().fanout_due


def test_post_left_in_outbox_is_delivered_by_the_sweep(app, feed, make_account):
    from app.times import utcnow
    from feed.models import Post
    from feed.tasks import sweep_fanout

    author, fan = make_account("merchant"), make_account("fan")
    feed.follow(fan, author)
    assert feed.home_ids(fan) == []  # the fan reads: their timeline is kept and pushed to
    with app.app_context():
        # what a web process SIGKILLed right after storing a post leaves behind: the post,
        # published and marked for fan-out a while ago, and no job in any queue
        post = Post(author=author.id, author_kind="merchant", kind="post", text="上新了",
                    fanout_due=utcnow() - timedelta(seconds=app.config["FANOUT_SWEEP_SECONDS"] + 5))
        post.save()
    post_id = str(post.id)
    assert post_id not in feed.home_ids(fan)  # nothing delivered it

    sweep_fanout.delay()  # what beat runs every FANOUT_SWEEP_SECONDS, through the real worker
    assert feed.wait_in_home(fan, post_id).count(post_id) == 1
    wait_for(lambda: _outbox(app, post_id) is None)  # delivered: out of the outbox


def test_a_fresh_mark_is_left_to_its_own_job(app, make_account):
    """The sweep leaves a post whose job was queued moments ago alone (no double work)."""
    from app.times import utcnow
    from feed.fanout import sweep
    from feed.models import Post

    author = make_account("merchant")
    with app.app_context():
        post = Post(author=author.id, author_kind="merchant", kind="post", text="刚刚",
                    fanout_due=utcnow())
        post.save()
        assert sweep() == 0
        assert Post.objects(id=post.id).first().fanout_due is not None


def test_published_posts_leave_the_outbox_once_delivered(app, feed, make_account):
    author, fan = make_account("merchant"), make_account("fan")
    feed.follow(fan, author)
    feed.home(fan)
    post = feed.post(author, text="hello")
    feed.wait_in_home(fan, post["id"])
    wait_for(lambda: _outbox(app, post["id"]) is None)
