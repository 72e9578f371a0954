"""The kept first page of the home feed: served again while nothing it shows changed, and
never showing a change late that the viewer made or that hides a post."""

from __future__ import annotations

import time

import pytest

from app.accounts import service as accounts
from app.extensions import redis_client
from feed import cache, pagecache, stamps, timeline
from tests.support import wait_for


def _keep_pages(app, seconds: int):
    app.config["FEED_PAGE_SECONDS"] = seconds
    yield seconds
    app.config["FEED_PAGE_SECONDS"] = 5


@pytest.fixture
def page_seconds(app):
    yield from _keep_pages(app, 1)


@pytest.fixture(autouse=True)
def kept_for_an_hour(app):
    """Pages outlive every test, so only the stamp can make a change show."""
    yield from _keep_pages(app, 3600)


def _item(feed, viewer, post_id: str) -> dict | None:
    return next((p for p in feed.home(viewer)["items"] if p["id"] == post_id), None)


def _published(feed, fan, author, text: str) -> dict:
    post = feed.post(author, text=text)
    wait_for(lambda: _item(feed, fan, post["id"]))
    return post


def test_repeated_reads_get_the_kept_page_until_others_counts_age_out(
        feed, make_account, http, app, page_seconds):
    fan, other, brand = make_account("fan"), make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    feed.home(fan)
    post = _published(feed, fan, brand, "新品上市")
    first = http.get(feed.base + "/feed/home", headers=fan.headers)
    assert http.get(feed.base + "/feed/home", headers=fan.headers).content == first.content
    with app.app_context():  # kept for FEED_PAGE_SECONDS, then only while it is rebuilt
        ttl = redis_client.ttl(pagecache.page_key(fan.id, 20))
        assert 0 < ttl <= page_seconds + pagecache.REBUILD_SECONDS
    assert http.post(f"{feed.base}/posts/{post['id']}/like", headers=other.headers).ok
    # someone else's like may show up to FEED_PAGE_SECONDS late
    wait_for(lambda: _item(feed, fan, post["id"])["like_count"] == 1, timeout=page_seconds + 4)


def test_an_aged_page_is_served_while_another_request_rebuilds_it(
        feed, make_account, http, app, page_seconds, monkeypatch):
    """Concurrent reads of an aged page do not all rebuild it: one does, the rest get the
    aged page meanwhile (nothing it shows changed but others' counts)."""
    monkeypatch.setattr(pagecache, "REBUILD_SECONDS", 30)  # a slow machine keeps the page
    fan, other, brand = make_account("fan"), make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    feed.home(fan)
    post = _published(feed, fan, brand, "秒杀")
    assert http.post(f"{feed.base}/posts/{post['id']}/like", headers=other.headers).ok
    time.sleep(page_seconds + 0.2)
    claim = cache.claim_key(pagecache.page_key(fan.id, 20))
    with app.app_context():  # as if another request were rebuilding the page
        redis_client.set(claim, 1, ex=30)
    assert _item(feed, fan, post["id"])["like_count"] == 0
    with app.app_context():
        redis_client.delete(claim)
    assert _item(feed, fan, post["id"])["like_count"] == 1


def test_the_viewers_own_actions_show_at_once(feed, make_account, http):
    fan, brand, shop = make_account("fan"), make_account("merchant"), make_account("merchant")
    feed.follow(fan, brand)
    feed.home(fan)
    post = _published(feed, fan, brand, "口红试色")
    assert _item(feed, fan, post["id"])["liked"] is False

    assert http.post(f"{feed.base}/posts/{post['id']}/like", headers=fan.headers).ok
    item = _item(feed, fan, post["id"])
    assert (item["liked"], item["like_count"]) == (True, 1)
    assert http.post(f"{feed.base}/posts/{post['id']}/comments", json={"text": "好看"},
                     headers=fan.headers).status_code == 201
    assert _item(feed, fan, post["id"])["comment_count"] == 1
    assert http.delete(f"{feed.base}/posts/{post['id']}/like", headers=fan.headers).ok
    item = _item(feed, fan, post["id"])
    assert (item["liked"], item["like_count"]) == (False, 0)

    earlier = feed.post(shop, text="店铺开业")  # before the follow: merged in by the follow
    feed.follow(fan, shop)
    assert feed.home_ids(fan) == [earlier["id"], post["id"]]
    r = http.delete(f"{feed.base}/accounts/{shop.id}/follow", headers=fan.headers)
    assert r.ok
    assert feed.home_ids(fan) == [post["id"]]


def test_edits_deletes_blocks_and_suspensions_show_at_once(feed, make_account, http):
    fan, brand, blocker = make_account("fan"), make_account("merchant"), make_account("influencer")
    moderator = make_account("fan", roles=("moderator",))
    for author in (brand, blocker):
        feed.follow(fan, author)
    feed.home(fan)
    edited = _published(feed, fan, brand, "旧文案")
    deleted = _published(feed, fan, brand, "会删除")
    blocked = _published(feed, fan, blocker, "博主日常")
    assert feed.home_ids(fan) == [blocked["id"], deleted["id"], edited["id"]]

    r = http.patch(f"{feed.base}/posts/{edited['id']}", json={"text": "新文案"},
                   headers=brand.headers)
    assert r.ok, r.text
    assert _item(feed, fan, edited["id"])["text"] == "新文案"
    assert http.delete(f"{feed.base}/posts/{deleted['id']}", headers=brand.headers).ok
    assert feed.home_ids(fan) == [blocked["id"], edited["id"]]
    assert http.post(f"{feed.base}/accounts/{fan.id}/block", headers=blocker.headers).ok
    assert feed.home_ids(fan) == [edited["id"]]
    r = http.post(f"{feed.base}/moderation/accounts/{brand.id}/suspend", json={},
                  headers=moderator.headers)
    assert r.ok, r.text
    assert feed.home_ids(fan) == []
    assert http.delete(f"{feed.base}/moderation/accounts/{brand.id}/suspend",
                       headers=moderator.headers).ok
    assert feed.home_ids(fan) == [edited["id"]]


def test_an_edit_shows_at_once_to_fans_reading_different_epoch_copies(feed, make_account, http):
    """The epochs are kept in copies on different Cluster slots; an edit moves them all."""
    brand, fans, copies = make_account("merchant"), [], set()
    while len(copies) < 3:
        fan = make_account("fan")
        if stamps.epochs_key_for(fan.id) not in copies:
            copies.add(stamps.epochs_key_for(fan.id))
            fans.append(fan)
            feed.follow(fan, brand)
            feed.home(fan)
    post = feed.post(brand, text="预售开启")
    for fan in fans:
        wait_for(lambda fan=fan: _item(feed, fan, post["id"]))
    assert http.patch(f"{feed.base}/posts/{post['id']}", json={"text": "预售延期"},
                      headers=brand.headers).ok
    assert [_item(feed, fan, post["id"])["text"] for fan in fans] == ["预售延期"] * 3


def test_a_pulled_authors_new_post_shows_on_the_next_read(feed, make_account, app):
    app.config["FANOUT_MAX_FOLLOWERS"] = 1
    try:
        fan, big = make_account("fan"), make_account("merchant")
        feed.follow(make_account("fan"), big)
        feed.follow(fan, big)  # two followers: above the limit, pulled at read time
        first = _published(feed, fan, big, "第一条")
        assert feed.home_ids(fan) == [first["id"]]
        second = _published(feed, fan, big, "第二条")
        assert feed.home_ids(fan) == [second["id"], first["id"]]
    finally:
        app.config["FANOUT_MAX_FOLLOWERS"] = 10_000


def test_other_page_sizes_and_cursors_are_not_mixed_up(feed, make_account):
    fan, brand = make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    feed.home(fan)
    posts = [feed.post(brand, text=f"第{i}期")["id"] for i in range(3)]
    wait_for(lambda: len(feed.home_ids(fan)) == 3)
    assert feed.home_ids(fan, limit=2) == posts[:0:-1]
    page = feed.home(fan, limit=2)
    assert [p["id"] for p in feed.home(fan, cursor=page["next_cursor"])["items"]] == [posts[0]]
    assert feed.home_ids(fan) == posts[::-1]


def test_a_token_naming_someone_elses_account_reads_and_renews_nothing(
        feed, make_account, http, app):
    """The kept page is read in the token's own round trip (a token starts with its
    account's id): a forged token gets a 401 and keeps nobody's timeline alive, while the
    owner's reads of the kept page do."""
    fan, brand = make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    _published(feed, fan, brand, "限时折扣")
    kept = feed.home(fan)
    key = cache.timeline_key(fan.id)
    with app.app_context():
        redis_client.expire(key, 100)
    r = http.get(feed.base + "/feed/home", headers={"Authorization": f"Bearer {fan.id}.forged"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    with app.app_context():
        assert 0 < redis_client.ttl(key) <= 100
    assert feed.home(fan) == kept
    with app.app_context():
        assert redis_client.ttl(key) > timeline.active_seconds() - 60


def test_the_kept_page_is_the_same_when_read_on_its_own(feed, make_account, http, app):
    """Views whose viewer was resolved earlier (no prefetch) read the same kept page."""
    fan, brand = make_account("fan"), make_account("merchant")
    feed.follow(fan, brand)
    _published(feed, fan, brand, "会员日")
    served = http.get(feed.base + "/feed/home", headers=fan.headers).text
    with app.test_request_context():
        assert pagecache.home_json(accounts.get(fan.id), 20) == served
