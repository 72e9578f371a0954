"""Issue 15 finding 6: every user text goes through the one screening step (app.screening).

Block terms are refused (422 ``content_blocked``) in every text field of posts, comments,
profiles and campaigns, on create and on every edit whatever the post's status; review terms
hold posts, queue profiles for a moderator and refuse campaigns (they cannot wait for
review). ``/search/suggest`` never offers a listed term as a tag.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import wait_for

API = "/api/v1"
BLOCKED, REVIEW = "六合彩", "加微信"


@pytest.fixture
def terms(client, moderator):
    r = client.put(f"{API}/moderation/terms", headers=moderator.headers,
                   json={"block": [BLOCKED], "review": [REVIEW]})
    assert r.status_code == 200


def _blocked(response) -> bool:
    return (response.status_code == 422
            and response.get_json()["error"]["code"] == "content_blocked")


def _product(title: str) -> dict:
    return {"title": title, "url": "https://shop.example/p/1", "price": "9.9"}


# each post field with a body that carries the term in it
POST_FIELDS = {
    "text": lambda word: {"text": f"今天 {word}"},
    "title": lambda word: {"kind": "headline", "title": f"标题 {word}", "body": "正文"},
    "body": lambda word: {"kind": "headline", "title": "标题", "body": f"# 正文\n\n{word}"},
    "tags": lambda word: {"text": "新品", "tags": ["ok", word]},
    "products": lambda word: {"text": "新品", "products": [_product(f"{word} 礼盒")]},
}


@pytest.mark.parametrize("field", sorted(POST_FIELDS))
def test_every_post_field_is_screened_on_create_and_edit(client, make_account, terms, field):
    merchant = make_account("merchant")
    body = {"kind": "post", **POST_FIELDS[field](BLOCKED)}
    assert _blocked(client.post(f"{API}/posts", json=body, headers=merchant.headers))
    clean = {"kind": "post", **POST_FIELDS[field]("好物")}
    created = client.post(f"{API}/posts", json=clean, headers=merchant.headers)
    assert created.status_code == 201, created.get_json()
    post = created.get_json()
    edit = {k: v for k, v in POST_FIELDS[field](BLOCKED).items() if k != "kind"}
    assert _blocked(client.patch(f"{API}/posts/{post['id']}", json=edit,
                                 headers=merchant.headers))
    held = {k: v for k, v in POST_FIELDS[field](REVIEW).items() if k != "kind"}
    r = client.patch(f"{API}/posts/{post['id']}", json=held, headers=merchant.headers)
    assert r.status_code == 200 and r.get_json()["status"] == "pending_review"
    assert client.get(f"{API}/posts/{post['id']}").status_code == 404
    # and once held, an edit is still screened
    assert _blocked(client.patch(f"{API}/posts/{post['id']}", json=edit,
                                 headers=merchant.headers))


def test_comments_are_screened(client, make_account, moderator, terms):
    merchant, fan = make_account("merchant"), make_account("fan")
    post = client.post(f"{API}/posts", json={"kind": "post", "text": "hi"},
                       headers=merchant.headers).get_json()
    url = f"{API}/posts/{post['id']}/comments"
    assert _blocked(client.post(url, json={"text": BLOCKED}, headers=fan.headers))
    held = client.post(url, json={"text": REVIEW}, headers=fan.headers).get_json()
    assert held["status"] == "pending_review"
    assert client.get(url).get_json()["items"] == []


@pytest.mark.parametrize("field", ["display_name", "bio"])
def test_profiles_are_screened_on_register_and_edit(client, make_account, moderator, terms,
                                                    field):
    body = {"username": f"screened_{field}", "password": "password123", "display_name": "Ok",
            "kind": "influencer", field: f"官方 {BLOCKED}"}
    assert _blocked(client.post(f"{API}/auth/register", json=body))
    assert client.get(f"{API}/accounts/@screened_{field}").status_code == 404
    person = make_account("influencer")
    r = client.patch(f"{API}/accounts/me", json={field: f"官方 {BLOCKED}"}, headers=person.headers)
    assert _blocked(r)
    assert BLOCKED not in client.get(f"{API}/accounts/{person.id}").get_json()[field]
    r = client.patch(f"{API}/accounts/me", json={field: f"官方 {REVIEW}"}, headers=person.headers)
    assert r.status_code == 200
    items = client.get(f"{API}/moderation/queue", headers=moderator.headers).get_json()["items"]
    [item] = [i for i in items if i["target_id"] == person.id]
    assert item["target_type"] == "account" and item["reasons"] == ["terms"]
    assert item["terms"] == [REVIEW]


@pytest.mark.parametrize("field", ["title", "description", "tag"])
@pytest.mark.parametrize("word", [BLOCKED, REVIEW])
def test_campaigns_are_screened(client, make_account, terms, field, word):
    merchant = make_account("merchant")
    now = datetime.now(UTC)
    body = {"title": "Summer", "description": "show us", "tag": "summer",
            "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=3)).isoformat()}
    assert client.post(f"{API}/campaigns", json=body, headers=merchant.headers).status_code == 201
    body[field] = f"{body[field]}{word}"
    assert _blocked(client.post(f"{API}/campaigns", json=body, headers=merchant.headers))


def test_suggest_never_offers_a_listed_tag(app, client, make_account, moderator):
    from search.backend import get_engine

    with app.app_context():
        get_engine().recreate([])
    shop = make_account("merchant")
    post = client.post(f"{API}/posts", json={"kind": "post", "text": "新品上市",
                                             "tags": [f"彩票{BLOCKED}", "彩票好运"]},
                       headers=shop.headers).get_json()
    assert post["status"] == "published"

    def tags() -> list[str]:
        found = client.get(f"{API}/search/suggest", query_string={"q": "彩票"}).get_json()
        return sorted(t["tag"] for t in found["tags"])

    wait_for(lambda: len(tags()) == 2)
    # the term is listed after the tag was made: it is never offered again
    client.put(f"{API}/moderation/terms", headers=moderator.headers,
               json={"block": [BLOCKED], "review": []})
    assert tags() == ["彩票好运"]
    client.put(f"{API}/moderation/terms", headers=moderator.headers,
               json={"block": [], "review": ["好运"]})
    assert tags() == [f"彩票{BLOCKED}"]
