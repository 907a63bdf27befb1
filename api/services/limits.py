"""Limits on what one key (or one site, or one client address) can make the service spend.

Each limit counts in this process (with several server processes, each allows its own
share) and refuses with :class:`api.services.errors.Limited`, answered 429 with
``Retry-After``:
- re-plans per hour, per key and per site (telemetry with ``replan`` or a large deviation);
- plan requests in flight per key (so one key cannot take every solve slot);
- fallback plans made and stored per day per key, for dispatch at an explicit ``at``;
- failed authentications per minute per client address.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from api.services.errors import Limited
from api.settings import Settings

_KEYS_LIMIT = 100_000


class Quota:
    """At most ``limit`` events per ``period_s`` for each key (a sliding window)."""

    def __init__(self, limit: int, period_s: float, what: str,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.period_s, self.what = limit, period_s, what
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= _KEYS_LIMIT:
                self._events.clear()  # bounded memory; a flood only resets the counts
            events = self._events[key] = deque()
        while events and events[0] <= now - self.period_s:
            events.popleft()
        return events

    def retry_after_s(self, key: str) -> int | None:
        """Seconds until ``key`` may act again; None if it may act now."""
        now = self._clock()
        with self._lock:
            events = self._window(key, now)
            if len(events) < self.limit:
                return None
            return max(1, math.ceil(events[0] + self.period_s - now))

    def check(self, key: str, who: str) -> None:
        wait = self.retry_after_s(key)
        if wait is not None:
            raise Limited(f"{who} reached its limit of {self.limit} {self.what}; retry in "
                          f"{wait} s", wait)

    def hit(self, key: str, who: str) -> None:
        """Count one event for ``key``, or raise Limited if its window is full."""
        self.check(key, who)
        with self._lock:
            self._window(key, self._clock()).append(self._clock())

    def count(self, key: str) -> None:
        """Count one event without checking (a failure that already happened)."""
        with self._lock:
            self._window(key, self._clock()).append(self._clock())


class Limits:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.replans = Quota(settings.replans_per_hour, 3600, "re-plans per hour", clock)
        self.fallbacks = Quota(settings.fallback_plans_per_day, 86400,
                               "fallback plans per day", clock)
        self.auth_failures = Quota(settings.auth_failures_per_minute, 60,
                                   "failed authentications per minute", clock)
        self._in_flight_limit = settings.plans_in_flight_per_key
        self._retry_s = max(1, math.ceil(settings.solve_time_limit_s / 4))
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def replan(self, key_id: str, site: str) -> None:
        """Count a re-plan for the key and the site; Limited if either is at its limit."""
        self.replans.check(f"site:{site}", f"site {site!r}")
        self.replans.hit(f"key:{key_id}", f"key {key_id}")
        self.replans.count(f"site:{site}")

    @contextmanager
    def plan_slot(self, key_id: str) -> Iterator[None]:
        """Hold one of the key's plan requests in flight for the duration of a solve."""
        with self._lock:
            busy = self._in_flight.get(key_id, 0)
            if busy >= self._in_flight_limit:
                raise Limited(f"key {key_id} already has {busy} plan request(s) in flight, its "
                              f"limit; retry in {self._retry_s} s", self._retry_s)
            self._in_flight[key_id] = busy + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key_id] -= 1
                if not self._in_flight[key_id]:
                    del self._in_flight[key_id]
