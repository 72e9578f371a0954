"""Which search engine runs: configuration picks it, once per app.

``ELASTICSEARCH_URL`` set means Elasticsearch (``search.elastic``), otherwise the embedded
tantivy index under ``SEARCH_DIR`` (``search.embedded``). Both implement the interface of
``search.engine``; callers ask ``get_engine()`` and see only that interface.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from flask import current_app

from search.elastic import ElasticEngine
from search.embedded import EmbeddedEngine
from search.engine import SearchEngine


def engine_for_config(config: Mapping[str, Any]) -> SearchEngine:
    """The engine the configuration selects: Elasticsearch when ``ELASTICSEARCH_URL`` is set."""
    if config.get("ELASTICSEARCH_URL"):
        return ElasticEngine(
            config["ELASTICSEARCH_URL"],
            index_prefix=config.get("SEARCH_INDEX", "content"),
            analyzer=config.get("SEARCH_ANALYZER") or "cjk",
        )
    return EmbeddedEngine(config["SEARCH_DIR"])


_create_lock = threading.Lock()


def get_engine() -> SearchEngine:
    """The current app's engine, created once per app (web and worker threads share it)."""
    engines = current_app.extensions.setdefault("search", {})
    engine = engines.get("engine")
    if engine is None:
        with _create_lock:
            engine = engines.get("engine")
            if engine is None:
                engine = engines["engine"] = engine_for_config(current_app.config)
    return engine
