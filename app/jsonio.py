"""JSON on orjson: the feed's hot paths spend much of a request encoding and decoding JSON.

``dumps``/``loads`` are the project's fast JSON (bytes out, UTF-8, no key sorting);
``OrjsonProvider`` makes every Flask response use it. Anything orjson refuses (a lone
surrogate, an integer beyond 64 bits, a type it does not know) falls back to Flask's own
provider, so output never fails where the standard library would have succeeded.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

loads = orjson.loads


def dumps(value: Any) -> str:
    """Compact JSON text (non-ASCII kept as is)."""
    return orjson.dumps(value).decode()


class OrjsonProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if not kwargs:
            try:
                return orjson.dumps(obj, default=self.default).decode()
            except (TypeError, orjson.JSONEncodeError):
                pass
        return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype=self.mimetype)
