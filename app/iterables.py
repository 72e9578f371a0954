"""Iteration helpers the standard library gains only in later Pythons."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items, in order (``itertools.batched`` from Python 3.12).

    Iterates ``items`` exactly once: a mongoengine queryset restarts on every ``iter()``,
    so ``islice`` over it would never end.
    """
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
