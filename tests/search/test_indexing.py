"""Indexing jobs, the catch-up sweep and ``flask search reindex`` on the real app."""

from __future__ import annotations

import pytest

from search.analysis import parse_query
from search.engine import SearchRequest
from tests.support import wait_for

API = "/api/v1"


@pytest.fixture
def index(app):
    from search.backend import get_engine

    with app.app_context():
        engine = get_engine()
        engine.recreate([])
    yield engine
    app.extensions["search"]["engine"] = engine


def ids(engine, q, **options) -> list[str]:
    return [h.id for h in engine.search(SearchRequest(parse_query(q), **options)).hits]


def run(task, *args) -> None:
    """Run a job here and now, as a worker would (eagerly, in this app's context)."""
    result = task.apply(args=list(args))
    assert result.successful(), result.traceback


def make_post(ctx_app, author_id: str, text: str, **fields):
    """A post written straight to MongoDB: no signal, no job (as if the job was lost)."""
    from app.accounts.models import Account
    from feed.models import Post

    with ctx_app.app_context():
        author = Account.objects.get(id=author_id)
        return Post(author=author.id, author_kind=author.kind, kind=fields.pop("kind", "post"),
                    text=text, **fields).save()


def test_jobs_are_idempotent(app, index, make_account):
    from search import tasks

    lily = make_account("influencer", username="lily")
    post = make_post(app, lily.id, "周末火锅局")
    with app.app_context():
        run(tasks.index_post, str(post.id))
        run(tasks.index_post, str(post.id))
        assert ids(index, "火锅") == [str(post.id)]
        assert index.count() == 2  # the post and its author's account
        run(tasks.delete_post, str(post.id))
        run(tasks.delete_post, str(post.id))
        assert ids(index, "火锅") == []


def test_a_job_for_a_post_that_no_longer_exists_removes_it(app, index, make_account):
    from search import tasks

    lily = make_account("influencer", username="lily")
    post = make_post(app, lily.id, "周末火锅局")
    with app.app_context():
        run(tasks.index_post, str(post.id))
        post.delete()
        run(tasks.index_post, str(post.id))
        assert ids(index, "火锅") == []


def test_a_deleted_post_is_not_put_back_by_a_late_job(app, index, make_account):
    from search import indexing

    lily = make_account("influencer", username="lily")
    post = make_post(app, lily.id, "周末火锅局")
    with app.app_context():
        indexing.mark(f"post:{post.id}", gone=True)  # what post_deleted does first
        indexing.sync_post(str(post.id))  # a job that still reads the post from MongoDB
        assert ids(index, "火锅") == []


def test_sweep_indexes_what_no_job_indexed(app, index, make_account):
    from search import indexing

    lily = make_account("influencer", username="lily")
    post = make_post(app, lily.id, "周末火锅局")
    video = make_post(app, lily.id, "开箱", kind="video")
    with app.app_context():
        assert ids(index, "火锅") == []
        result = indexing.sweep()
        assert result["changed"] >= 2
        assert ids(index, "火锅") == [str(post.id)]
        assert ids(index, "视频", type="videos") == [str(video.id)]
        assert ids(index, "lily", type="accounts") == [lily.id]
        before = index.count()
        again = indexing.sweep()  # only the last minutes (the slack) are read again
        assert again["dirty"] == 0 and index.count() == before == 3


def test_sweep_retries_dirty_documents_after_an_outage(app, index, make_account):
    from search import indexing
    from search.elastic import ElasticEngine
    from search.engine import SearchUnavailable

    lily = make_account("influencer", username="lily")
    post = make_post(app, lily.id, "周末火锅局")
    with app.app_context():
        indexing.sweep()
        post.update(set__status="removed")  # a status change: no created/edited time moves
        indexing.mark(f"post:{post.id}")
        app.extensions["search"]["engine"] = ElasticEngine("http://127.0.0.1:9",
                                                           request_timeout=0.5)
        with pytest.raises(SearchUnavailable):
            indexing.sweep()
        app.extensions["search"]["engine"] = index
        assert f"post:{post.id}" in indexing.dirty_keys()
        assert ids(index, "火锅") == [str(post.id)]  # still there: the outage lost the job
        indexing.sweep()
        assert ids(index, "火锅") == []
        assert indexing.dirty_keys() == []


def test_moderation_removal_takes_a_post_out(app, client, index, make_account):
    from feed import posts as feed_posts
    from feed.models import Post
    from moderation import service as moderation

    lily = make_account("influencer", username="lily")
    mod = make_account("fan", roles=("moderator",))
    response = client.post(f"{API}/posts", json={"kind": "post", "text": "违规的火锅广告"},
                           headers=lily.headers)
    post_id = response.get_json()["id"]
    with app.app_context():
        wait_for(lambda: ids(index, "火锅") == [post_id])
        moderation.enqueue("post", post_id, "reports", author_id=lily.id)
        item = moderation.item_for("post", post_id)
        from app.accounts.models import Account

        moderation.decide(str(item.id), Account.objects.get(id=mod.id), "remove", "spam")
        assert Post.objects.get(id=post_id).status == "removed"
        wait_for(lambda: ids(index, "火锅") == [])
        feed_posts.set_status(Post.objects.get(id=post_id), "published")
        wait_for(lambda: ids(index, "火锅") == [post_id])


def test_deleting_an_account_removes_it_and_its_posts(app, index, make_account):
    from app.accounts.models import Account
    from app.accounts.service import delete as delete_account
    from search import indexing

    shop = make_account("merchant", username="gone_shop")
    make_post(app, shop.id, "清仓火锅底料")
    with app.app_context():
        indexing.sweep()
        assert len(ids(index, "火锅")) == 1 and ids(index, "gone_shop") == [shop.id]
        delete_account(Account.objects.get(id=shop.id), "password123")
        wait_for(lambda: ids(index, "火锅") == [] and ids(index, "gone_shop") == [])


def test_reindex_command_rebuilds_from_mongodb(app, index, make_account):
    from search import indexing

    lily = make_account("influencer", username="lily")
    shop = make_account("merchant", username="zara_official")
    fan = make_account("fan")
    kept = [make_post(app, lily.id, f"火锅第{i}顿") for i in range(3)]
    make_post(app, shop.id, "ＺＡＲＡ 新品")
    make_post(app, fan.id, "粉丝也吃火锅")
    make_post(app, lily.id, "被删的火锅", status="removed")
    with app.app_context():
        index.index([{"doc_type": "post", "id": "ghost", "type": "post", "author_id": "x",
                      "author_username": "x", "author_name": "x", "author_kind": "merchant",
                      "title": "", "text": "幽灵火锅", "body": "", "tags": [],
                      "audience": None, "created_at": kept[0].created_at}])
        assert "ghost" in ids(index, "火锅")
        indexing.mark("post:touched-meanwhile")
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 6 documents from 6 posts and accounts" in result.output
    with app.app_context():
        assert set(ids(index, "火锅")) == {str(p.id) for p in kept}
        assert ids(index, "zara") == [shop.id] + ids(index, "zara", type="posts")
        assert index.count() == 6
    status = app.test_cli_runner().invoke(args=["search", "status"])
    assert "documents: 6" in status.output and "reachable: yes" in status.output


def test_changes_during_a_rebuild_are_replayed_into_the_new_index(app, index, make_account):
    from search import indexing

    lily = make_account("influencer", username="lily")
    first = make_post(app, lily.id, "火锅一")
    late = []

    def documents(progress=None):
        yield from original(progress)
        # a post published while the rebuild runs: its job wrote to the old index
        post = make_post(app, lily.id, "火锅二")
        indexing.mark(f"post:{post.id}")
        late.append(str(post.id))

    with app.app_context():
        original = indexing.iter_documents
        indexing.iter_documents = documents
        try:
            indexing.reindex()
        finally:
            indexing.iter_documents = original
        assert set(ids(index, "火锅")) == {str(first.id), *late}


def test_the_sweep_is_scheduled_and_the_cli_is_registered(app):
    schedule = app.extensions["celery"].conf.beat_schedule["search-sweep"]
    assert schedule["task"] == "search.tasks.sweep"
    result = app.test_cli_runner().invoke(args=["search", "--help"])
    assert result.exit_code == 0
    assert "reindex" in result.output and "sweep" in result.output
