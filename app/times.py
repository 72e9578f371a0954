"""Time helpers: everything is UTC, written the way the contract writes it (``iso``, and
``Written`` for response schemas)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from marshmallow import ValidationError, fields


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Every datetime aware and in UTC: stored ones come back naive from some drivers (they
    are UTC), parsed ones may carry another offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """``2026-11-24T08:00:00.000Z``."""
    if value is None:
        return None
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# The instants the API accepts and the cursors carry: anything outside is a 400, so no
# arithmetic (to UTC, to milliseconds, a day later) can overflow into a 500.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive
OUT_OF_RANGE = "must be between 1970-01-01 and 2999-12-31 (UTC)"


def in_range(value: datetime) -> datetime:
    """``value`` in UTC; ValueError when it cannot be carried to UTC or is out of range."""
    try:
        moment = as_utc(value)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return moment


def parse_instant(value: object) -> datetime:
    """An ISO 8601 date (midnight UTC) or datetime (naive means UTC) as an aware UTC
    datetime; ValueError for anything else, out-of-range values included."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("not an ISO 8601 date or datetime")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date or datetime") from None
    return in_range(parsed)


def from_ms(value: int) -> datetime:
    """Epoch milliseconds (feed and gallery cursors) as a UTC datetime; ValueError if out of
    range."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not a time")
    if not int(EARLIEST.timestamp() * 1000) <= value < int(LATEST.timestamp() * 1000):
        raise ValueError(OUT_OF_RANGE)
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class Instant(fields.AwareDateTime):
    """The one time field of request schemas: ISO 8601 date or datetime, naive means UTC,
    loaded as aware UTC, refused (400 ``validation_error``) outside EARLIEST..LATEST."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> datetime:
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Written(fields.String):
    """The one time field of response schemas: a datetime written as ``iso`` writes it.

    A string is already written (JSON kept in a cache and dumped again) and passes as is;
    the OpenAPI sees a string, as before (``app.contract`` makes every ``*_at`` a date-time).
    """

    def _serialize(self, value: object, attr: str | None, obj: object,
                   **kwargs: object) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return iso(value)  # type: ignore[arg-type]
