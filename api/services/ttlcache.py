"""A small in-process cache whose entries are trusted for ``ttl_s`` and never after."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Stale(Exception):
    """The entry is missing or older than ``ttl_s``: the caller reloads it."""


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, limit: int = 100_000):
        self.ttl_s = ttl_s
        self.limit = limit
        self._data: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V:
        """The cached value if it is younger than ``ttl_s``; raises Stale otherwise."""
        hit = self._data.get(key)
        if hit is None or hit[1] <= time.monotonic():
            raise Stale(key)
        return hit[0]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._data) >= self.limit:
                self._data.clear()  # bounded; entries are cheap to reload
            self._data[key] = (value, time.monotonic() + self.ttl_s)

    def drop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def drop_where(self, doomed: Callable[[V], bool]) -> None:
        """Drop every entry whose value ``doomed`` is true of."""
        with self._lock:
            for key in [k for k, (v, _) in self._data.items() if doomed(v)]:
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
