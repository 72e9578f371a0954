"""Search fixtures: each engine under test, and documents shaped as search.documents makes them.

The engine contract runs on the embedded engine always and on Elasticsearch when
``ELASTICSEARCH_URL`` points at a real server (8.x or 9.x).
"""

from __future__ import annotations

import os
import uuid

import pytest

ES_URL = os.environ.get("ELASTICSEARCH_URL")


@pytest.fixture(params=["embedded", "elasticsearch"])
def engine(request, tmp_path):
    """A fresh, empty engine of each kind."""
    if request.param == "embedded":
        from search.embedded import EmbeddedEngine

        created = EmbeddedEngine(tmp_path / "search")
        yield created
        created.close()
        return
    if not ES_URL:
        pytest.skip("ELASTICSEARCH_URL is not set: the Elasticsearch contract needs a real server")
    from search.elastic import ElasticEngine

    created = ElasticEngine(ES_URL, index_prefix=f"test-search-{uuid.uuid4().hex[:10]}",
                            analyzer=os.environ.get("SEARCH_ANALYZER", "cjk"))
    yield created
    created.drop()
    created.close()
