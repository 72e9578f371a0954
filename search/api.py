"""REST routes of the search package (under /api/v1): ``GET /search``, ``GET /search/suggest``.

Thin views: arguments validated by the schemas below, the query checked by our analyzer,
the engine asked, and the hits hydrated with the same JSON (and the same visibility rule)
as feeds and account pages. An engine that is down is a 503 ``search_unavailable``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app import screening
from app.accounts import service as accounts
from app.accounts.schemas import AccountSchema
from app.api import Blueprint
from app.auth import auth_optional, current_account
from app.errors import ApiError
from app.pagination import PageArgs, decode_cursor, page, refusing
from app.times import Instant
from feed.graph import seen_by
from feed.hydrate import posts_json
from search import analysis
from search.backend import get_engine
from search.documents import viewer_from_account
from search.engine import TYPES, BadCursor, SearchRequest, SearchUnavailable

bp = Blueprint("search", __name__, description="Search posts, headlines, videos and accounts")
_accounts = AccountSchema(many=True)  # search items and suggestions carry Account JSON


class SearchArgs(PageArgs):
    q = fields.String(required=True, metadata={"description": "Chinese, English or mixed text"})
    type = fields.String(load_default="all", validate=validate.OneOf(list(TYPES)))
    author = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                           metadata={"description": "account id or @username"})
    tag = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    since = Instant(load_default=None, metadata={"description": "created at or after"})
    until = Instant(load_default=None, metadata={"description": "created before"})


class SuggestArgs(Schema):
    q = fields.String(required=True)
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=10))


class SearchItem(Schema):
    type = fields.String(required=True, metadata={"description": "post or account"})
    score = fields.Float(required=True)
    highlight = fields.Dict(keys=fields.String(), values=fields.String(),
                            metadata={"description": "field -> HTML fragment, matches in <em>"})
    post = fields.Dict()
    account = fields.Dict()


class SearchPageSchema(Schema):
    items = fields.List(fields.Nested(SearchItem), required=True)
    total = fields.Integer(required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TagSuggestion(Schema):
    tag = fields.String(required=True)
    count = fields.Integer(required=True)


class SuggestSchema(Schema):
    accounts = fields.List(fields.Dict(), required=True)
    tags = fields.List(fields.Nested(TagSuggestion), required=True)


def _unavailable() -> ApiError:
    return ApiError(503, "search_unavailable", "search is temporarily unavailable",
                    headers={"Retry-After": "30"})


@bp.get("/search")
@bp.arguments(SearchArgs, location="query", as_kwargs=True)
@bp.response(200, SearchPageSchema)
@auth_optional
def search(q: str, limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """Ranked results the viewer may see; posts and accounts as everywhere else in the API."""
    query = analysis.parse_query(q)
    viewer = current_account()
    request = SearchRequest(query=query, limit=limit, cursor=decode_cursor(cursor, shape=dict),
                            viewer=viewer_from_account(viewer), **filters)
    try:
        with refusing(BadCursor, why="not a cursor from this search engine"):
            found = get_engine().search(request)
    except SearchUnavailable:
        raise _unavailable() from None
    return page(_hydrate(found.hits, viewer), found.next_cursor or None, total=found.total)


@bp.get("/search/suggest")
@bp.arguments(SuggestArgs, location="query", as_kwargs=True)
@bp.response(200, SuggestSchema)
@auth_optional
def suggest(q: str, limit: int) -> dict[str, Any]:
    """Accounts and tags starting with what has been typed so far."""
    prefix = analysis.parse_prefix(q)
    viewer = current_account()
    try:
        found = get_engine().suggest(prefix, viewer_from_account(viewer), limit)
    except SearchUnavailable:
        raise _unavailable() from None
    return {"accounts": _accounts_json([a["id"] for a in found.accounts], viewer),
            # tags made before a term was listed are never offered
            "tags": [tag for tag in found.tags if not screening.flagged(tag["tag"])]}


# --- hydration ---------------------------------------------------------------------------


def _accounts_json(ids: list[str], viewer: Any) -> list[dict]:
    """Contract Account JSON in order, leaving out accounts suspended since indexing."""
    found = accounts.get_many(ids)
    return _accounts.dump([seen_by(found[i], viewer) for i in ids
                           if i in found and not found[i].suspended])


def _posts_json(ids: list[str], viewer: Any) -> dict[str, dict]:
    """Contract Post JSON for the posts the viewer may (still) see, by id."""
    return {item["id"]: item for item in posts_json(ids, viewer)}


def _hydrate(hits: list, viewer: Any) -> list[dict[str, Any]]:
    post_ids = [h.id for h in hits if h.type == "post"]
    account_ids = [h.id for h in hits if h.type == "account"]
    posts = _posts_json(post_ids, viewer) if post_ids else {}
    accounts = {a["id"]: a for a in _accounts_json(account_ids, viewer)} if account_ids else {}
    items = []
    for hit in hits:
        data = posts.get(hit.id) if hit.type == "post" else accounts.get(hit.id)
        if data is None:
            continue  # deleted, hidden or suspended since it was indexed
        data.pop("cursor", None)  # a feed cursor means nothing here
        items.append({"type": hit.type, "score": hit.score, "highlight": hit.highlight,
                      hit.type: data})
    return items
