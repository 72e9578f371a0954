"""The moderation API over the Flask test client: roles, terms, queue, decisions, audit."""

from __future__ import annotations

import pytest

MODERATION_ROUTES = [
    ("get", "/api/v1/moderation/queue", None),
    ("get", "/api/v1/moderation/queue/000000000000000000000000", None),
    ("post", "/api/v1/moderation/queue/000000000000000000000000/decision",
     {"action": "approve", "reason": "ok"}),
    ("get", "/api/v1/moderation/terms", None),
    ("put", "/api/v1/moderation/terms", {"block": [], "review": []}),
    ("get", "/api/v1/moderation/audit", None),
    ("post", "/api/v1/moderation/accounts/{target}/suspend", {}),
    ("delete", "/api/v1/moderation/accounts/{target}/suspend", None),
    ("post", "/api/v1/moderation/accounts/{target}/verify", {}),
    ("delete", "/api/v1/moderation/accounts/{target}/verify", None),
]


@pytest.mark.parametrize("method,path,body", MODERATION_ROUTES)
def test_only_moderators_and_admins_reach_moderation_routes(
        client, make_account, method, path, body):
    target = make_account("merchant")
    path = path.format(target=target.id)
    call = getattr(client, method)
    anonymous = call(path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"]
    for kind in ("fan", "merchant", "influencer"):
        response = call(path, json=body, headers=make_account(kind).headers)
        assert response.status_code == 403, (kind, response.get_json())
        assert response.get_json()["error"]["code"] == "forbidden"
    for roles in (("moderator",), ("admin",)):
        response = call(path, json=body, headers=make_account("fan", roles=roles).headers)
        assert response.status_code in (200, 404), response.get_json()  # 404: no such item


def test_terms_round_trip_and_validation(client, moderator, term_lists):
    empty = client.get("/api/v1/moderation/terms", headers=moderator.headers)
    assert empty.get_json() == {"block": [], "review": []}
    saved = client.put("/api/v1/moderation/terms", json=term_lists, headers=moderator.headers)
    assert saved.status_code == 200
    assert saved.get_json() == term_lists
    assert client.get("/api/v1/moderation/terms",
                      headers=moderator.headers).get_json() == term_lists
    bad = client.put("/api/v1/moderation/terms", json={"block": ["x" * 65]},
                     headers=moderator.headers)
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) >= {"block", "review"}


def test_account_reports_are_one_per_reporter(client, make_account):
    target, reporter = make_account("merchant"), make_account()
    url = f"/api/v1/accounts/{target.id}/reports"
    first = client.post(url, json={"reason": "spam", "details": "sells followers"},
                        headers=reporter.headers)
    assert first.status_code == 201
    body = first.get_json()
    assert body["target_type"] == "account" and body["target_id"] == target.id
    assert body["reason"] == "spam" and body["details"] == "sells followers"
    again = client.post(url, json={"reason": "abuse"}, headers=reporter.headers)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_reported"
    assert client.post(url, json={"reason": "spam"}).status_code == 401
    assert client.post(url, json={}, headers=make_account().headers).status_code == 400
    missing = client.post("/api/v1/accounts/000000000000000000000000/reports",
                          json={"reason": "spam"}, headers=reporter.headers)
    assert missing.status_code == 404


def _queue(client, moderator, **params):
    response = client.get("/api/v1/moderation/queue", query_string=params,
                          headers=moderator.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_reported_accounts_are_queued_with_why(client, make_account, moderator):
    target = make_account("influencer")
    for reason in ("spam", "spam", "abuse"):
        client.post(f"/api/v1/accounts/{target.id}/reports", json={"reason": reason},
                    headers=make_account().headers)
    page = _queue(client, moderator)
    assert page["next_cursor"] is None
    [item] = page["items"]
    assert item["target_type"] == "account" and item["target_id"] == target.id
    assert item["target"]["username"] == target.username
    assert item["reasons"] == ["reports"]
    assert item["reports_count"] == 3
    assert item["report_reasons"] == {"spam": 2, "abuse": 1}
    assert item["status"] == "pending"
    assert item["created_at"].endswith("Z")
    # Reports alone never silence an account: a moderator decides.
    assert client.get(f"/api/v1/accounts/{target.id}").status_code == 200


def test_queue_pages_oldest_first_and_filters(client, make_account, moderator):
    targets = [make_account("merchant") for _ in range(5)]
    reporter = make_account()
    for target in targets:
        client.post(f"/api/v1/accounts/{target.id}/reports", json={"reason": "spam"},
                    headers=reporter.headers)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _queue(client, moderator, **params)
        seen += [item["target_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [t.id for t in targets]
    assert _queue(client, moderator, status="approved")["items"] == []
    assert len(_queue(client, moderator, status="all", target_type="account")["items"]) == 5
    assert _queue(client, moderator, target_type="post")["items"] == []
    bad = client.get("/api/v1/moderation/queue?status=nope", headers=moderator.headers)
    assert bad.status_code == 400
    bad = client.get("/api/v1/moderation/queue?cursor=abc", headers=moderator.headers)
    assert bad.status_code == 400
    bad = client.get("/api/v1/moderation/queue?limit=101", headers=moderator.headers)
    assert bad.status_code == 400


def _item_id(client, moderator, target_id):
    page = _queue(client, moderator, status="all")
    return next(i["id"] for i in page["items"] if i["target_id"] == target_id)


def test_decisions_follow_the_allowed_transitions_and_are_audited(
        client, make_account, moderator):
    target = make_account("merchant")
    client.post(f"/api/v1/accounts/{target.id}/reports", json={"reason": "scam"},
                headers=make_account().headers)
    item_id = _item_id(client, moderator, target.id)
    url = f"/api/v1/moderation/queue/{item_id}/decision"

    removed = client.post(url, json={"action": "remove", "reason": "fake shop"},
                          headers=moderator.headers)
    assert removed.status_code == 200
    body = removed.get_json()
    assert body["status"] == "removed" and body["decision"] == "remove"
    assert body["decision_reason"] == "fake shop" and body["decided_by"] == moderator.id
    assert body["decided_at"].endswith("Z")
    # Removing an account suspends it: its token stops working at once.
    assert client.get("/api/v1/accounts/me", headers=target.headers).status_code == 401

    again = client.post(url, json={"action": "approve"}, headers=moderator.headers)
    assert again.status_code == 409
    assert client.post(url, json={"action": "nope"}, headers=moderator.headers).status_code == 400
    restored = client.post(url, json={"action": "restore", "reason": "appeal accepted"},
                           headers=moderator.headers)
    assert restored.get_json()["status"] == "restored"
    assert client.get("/api/v1/accounts/me", headers=target.headers).status_code == 200

    audit = client.get("/api/v1/moderation/audit", headers=moderator.headers).get_json()
    entries = audit["items"]
    assert [e["action"] for e in entries] == ["restore", "remove"]  # newest first
    for entry, reason in zip(entries, ("appeal accepted", "fake shop"), strict=True):
        assert entry["moderator"]["id"] == moderator.id
        assert entry["moderator"]["username"] == moderator.username
        assert entry["item_id"] == item_id
        assert entry["target_type"] == "account" and entry["target_id"] == target.id
        assert entry["reason"] == reason
        assert entry["at"].endswith("Z")


def test_an_approved_account_reported_again_is_requeued(client, make_account, moderator):
    target = make_account("merchant")
    client.post(f"/api/v1/accounts/{target.id}/reports", json={"reason": "spam"},
                headers=make_account().headers)
    item_id = _item_id(client, moderator, target.id)
    client.post(f"/api/v1/moderation/queue/{item_id}/decision", json={"action": "approve"},
                headers=moderator.headers)
    assert _queue(client, moderator)["items"] == []
    client.post(f"/api/v1/accounts/{target.id}/reports", json={"reason": "spam"},
                headers=make_account().headers)
    [item] = _queue(client, moderator)["items"]
    assert item["id"] == item_id and item["reports_count"] == 2


def test_suspension_and_reinstatement(client, make_account, moderator):
    target = make_account("merchant")
    url = f"/api/v1/moderation/accounts/{target.id}/suspend"
    assert client.get("/api/v1/accounts/me", headers=target.headers).status_code == 200
    suspended = client.post(url, json={"reason": "spam ring"}, headers=moderator.headers)
    assert suspended.status_code == 200 and suspended.get_json()["suspended"] is True
    assert client.get("/api/v1/accounts/me", headers=target.headers).status_code == 401
    assert client.get(f"/api/v1/accounts/{target.id}").status_code == 404
    reinstated = client.delete(url, headers=moderator.headers)
    assert reinstated.get_json()["suspended"] is False
    assert client.get("/api/v1/accounts/me", headers=target.headers).status_code == 200
    actions = [e["action"] for e in client.get(
        "/api/v1/moderation/audit", headers=moderator.headers).get_json()["items"]]
    assert actions == ["reinstate", "suspend"]


def test_only_admins_suspend_staff_and_nobody_themselves(client, make_account, moderator):
    other = make_account("fan", roles=("moderator",))
    admin = make_account("fan", roles=("admin",))
    url = "/api/v1/moderation/accounts/{}/suspend"
    assert client.post(url.format(other.id), headers=moderator.headers).status_code == 403
    assert client.post(url.format(moderator.id), headers=moderator.headers).status_code == 403
    assert client.post(url.format(admin.id), headers=moderator.headers).status_code == 403
    assert client.post(url.format(other.id), headers=admin.headers).status_code == 200
    assert client.post(url.format("000000000000000000000000"),
                       headers=admin.headers).status_code == 404


def test_verified_badge(client, make_account, moderator):
    target = make_account("influencer")
    url = f"/api/v1/moderation/accounts/{target.id}/verify"
    assert client.post(url, headers=moderator.headers).get_json()["verified"] is True
    assert client.get(f"/api/v1/accounts/{target.id}").get_json()["verified"] is True
    assert client.delete(url, headers=moderator.headers).get_json()["verified"] is False
    assert client.get(f"/api/v1/accounts/{target.id}").get_json()["verified"] is False
    actions = [e["action"] for e in client.get(
        "/api/v1/moderation/audit", headers=moderator.headers).get_json()["items"]]
    assert actions == ["unverify", "verify"]


def test_term_edits_are_audited(client, moderator):
    client.put("/api/v1/moderation/terms", json={"block": ["a1", "b2"], "review": ["c3"]},
               headers=moderator.headers)
    [entry] = client.get("/api/v1/moderation/audit",
                         headers=moderator.headers).get_json()["items"]
    assert entry["action"] == "terms_update"
    assert entry["reason"] == "block: 2 terms, review: 1 terms"


def test_audit_pages(client, make_account, moderator):
    target = make_account("influencer")
    url = f"/api/v1/moderation/accounts/{target.id}/verify"
    for _ in range(3):
        client.post(url, headers=moderator.headers)
        client.delete(url, headers=moderator.headers)
    first = client.get("/api/v1/moderation/audit?limit=4", headers=moderator.headers).get_json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = client.get(f"/api/v1/moderation/audit?limit=4&cursor={first['next_cursor']}",
                      headers=moderator.headers).get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert len(set(ids)) == 6
