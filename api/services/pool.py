"""The bounded pool that runs solves away from the web server's event loop and threads."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from api.services import jobs
from api.services.errors import Busy, SolveFailed
from api.settings import Settings

T = TypeVar("T")

#: Requests allowed to wait for a worker, per worker, before new ones are turned away.
QUEUE_PER_WORKER = 4


class SolvePool:
    """A process (default) or thread pool with a bounded queue and a wait limit per job.

    Processes use the ``spawn`` start method: forking a server that runs threads is unsafe.
    A job that outlives its wait is abandoned (its result is dropped); the solver's own time
    limit bounds how long it keeps a worker busy.
    """

    def __init__(self, settings: Settings):
        self._settings = settings
        self._slots = threading.BoundedSemaphore(settings.plan_workers * (1 + QUEUE_PER_WORKER))
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        workers = self._settings.plan_workers
        if self._settings.plan_pool == "thread":
            return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="solve")
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        for _ in range(workers):
            pool.submit(jobs.warm_up)
        return pool

    def run(self, fn: Callable[..., T], *args: Any, wait_s: float) -> T:
        """Run ``fn(*args)`` in the pool and wait at most ``wait_s`` for its result."""
        if not self._slots.acquire(blocking=False):
            raise Busy("every solve worker and queue place is taken; retry in a minute")
        try:
            with self._lock:
                future: Future[T] = self._executor.submit(fn, *args)
            try:
                return future.result(timeout=wait_s)
            except FutureTimeout:
                future.cancel()
                raise SolveFailed(
                    f"the solve did not finish within {wait_s:g} s; the current plan is unchanged",
                    status_code=504,
                ) from None
            except BrokenProcessPool:
                with self._lock:
                    self._executor = self._new_executor()
                raise SolveFailed(
                    "the solve worker died; the current plan is unchanged", status_code=503
                ) from None
        finally:
            self._slots.release()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
