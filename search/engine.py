"""The one search engine interface; Elasticsearch and the embedded engine implement it.

Callers (the API, the indexing jobs, the CLI) only see :class:`SearchEngine`, the request
and result types below and :class:`SearchUnavailable`. Which engine runs is configuration,
read by ``search.backend.get_engine``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from search.analysis import ParsedQuery

#: Search ``type`` values and the document types (post kinds or ``account``) they select.
TYPES: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "posts": ("post",),
    "headlines": ("headline",),
    "videos": ("video",),
    "accounts": ("account",),
}

#: Deepest offset a cursor may reach; past it a search has no next page.
MAX_OFFSET = 10_000


class SearchUnavailable(Exception):
    """The engine cannot be reached or failed; the API answers 503 ``search_unavailable``."""


class BadCursor(ValueError):
    """A cursor this engine did not make (the API answers 400)."""


@dataclass(frozen=True)
class Viewer:
    """Who is searching, as far as audience rules care; ``None`` is an anonymous viewer."""

    id: str
    gender: str | None = None
    interests: tuple[str, ...] = ()


@dataclass
class SearchRequest:
    query: ParsedQuery
    type: str = "all"
    author: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    cursor: Mapping[str, Any] | None = None
    viewer: Viewer | None = None


@dataclass
class Hit:
    """One result: ``type`` is ``post`` or ``account``; ``source`` is the indexed document."""

    type: str
    id: str
    score: float
    highlight: dict[str, str]
    source: dict[str, Any]


@dataclass
class SearchPage:
    hits: list[Hit]
    total: int
    next_cursor: dict[str, Any] | None = None


@dataclass
class Suggestions:
    accounts: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)


Progress = Callable[[int], None]


class SearchEngine(abc.ABC):
    """Index, delete, search and suggest over post and account documents.

    Documents are the plain dicts :mod:`search.documents` builds; every write is
    idempotent (indexing a document again replaces it, deleting a missing one is a no-op).
    """

    name: str = "engine"

    @abc.abstractmethod
    def index(self, docs: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents in bulk; returns how many were written."""

    @abc.abstractmethod
    def delete(self, doc_type: str, ids: Iterable[str]) -> None:
        """Remove documents of ``doc_type`` (``post`` or ``account``) by id."""

    @abc.abstractmethod
    def delete_author_posts(self, author_id: str) -> None:
        """Remove every post of one author (the author was suspended or deleted)."""

    @abc.abstractmethod
    def search(self, request: SearchRequest) -> SearchPage:
        """Ranked, filtered, highlighted hits the viewer may see, one page at a time."""

    @abc.abstractmethod
    def suggest(self, prefix: str, viewer: Viewer | None = None, limit: int = 5) -> Suggestions:
        """Accounts and tags starting with an already-normalized prefix."""

    @abc.abstractmethod
    def recreate(self, docs: Iterable[dict[str, Any]], progress: Progress | None = None) -> int:
        """Build a fresh index from ``docs`` and switch to it atomically (no downtime)."""

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the engine answers; never raises."""

    def refresh(self) -> None:  # noqa: B027 - optional hook
        """Make recent writes visible to searches (tests and the CLI call it)."""

    def count(self) -> int:
        """How many documents are searchable (health and the CLI report it)."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""

