"""A small in-process cache whose entries are trusted for a while, refreshed by one caller.

When an entry expires, the first caller that notices is told to reload it (``Stale``) and the
others keep getting the old value meanwhile, so a popular entry expiring does not send every
concurrent request to the database at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Stale(Exception):
    """The caller should reload the entry (it is missing, or expired and now claimed)."""


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, limit: int = 100_000):
        self.ttl_s = ttl_s
        self.limit = limit
        self._data: dict[K, tuple[V, float]] = {}
        self._claims: dict[K, float] = {}
        self._lock = threading.Lock()

    def get(self, key: K, share: bool = True) -> V:
        """The cached value; raises Stale if the caller must reload it.

        With ``share``, an expired entry is claimed by the first caller (who gets Stale) and
        served to the others until it is reloaded, or until the claim is ``ttl_s`` old.
        Without, only a fresh entry is returned (for the caller that reloads).
        """
        hit = self._data.get(key)
        now = time.monotonic()
        if hit is None:
            raise Stale(key)
        if hit[1] > now:
            return hit[0]
        if not share:
            raise Stale(key)
        with self._lock:
            claimed = self._claims.get(key)
            if claimed is not None and now - claimed < self.ttl_s:
                return hit[0]
            self._claims[key] = now
        raise Stale(key)

    def peek(self, key: K) -> V | None:
        """The cached value, fresh or expired, without claiming it; None when absent."""
        hit = self._data.get(key)
        return None if hit is None else hit[0]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._data) >= self.limit:
                self._data.clear()  # bounded; entries are cheap to reload
                self._claims.clear()
            self._data[key] = (value, time.monotonic() + self.ttl_s)
            self._claims.pop(key, None)

    def drop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._claims.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._claims.clear()

    def keys(self) -> list[K]:
        return list(self._data)
