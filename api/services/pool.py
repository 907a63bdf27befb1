"""The bounded pool that runs solves away from the web server's event loop and threads."""

from __future__ import annotations

import logging
import multiprocessing
import os
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
log = logging.getLogger("villagegrid.api")

#: Requests allowed to wait for a worker, per worker, before new ones are turned away.
QUEUE_PER_WORKER = 4


class SolvePool:
    """A process (default) or thread pool with a bounded queue and a wait limit per job.

    Processes use the ``spawn`` start method: forking a server that runs threads is unsafe.
    A job that outlives its wait is abandoned (its result is dropped); the solver's own time
    limit bounds how long it keeps a worker busy. A worker that dies (the OOM killer,
    ``kill -9``), busy or idle, breaks a process pool: it is replaced by a new one at the next
    job or :meth:`check`, whichever comes first. Workers end themselves when the server
    process that started them is gone.
    """

    def __init__(self, settings: Settings):
        self._settings = settings
        self._slots = threading.BoundedSemaphore(settings.plan_workers * (1 + QUEUE_PER_WORKER))
        self._lock = threading.Lock()
        self.rebuilt = 0
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        workers = self._settings.plan_workers
        if self._settings.plan_pool == "thread":
            return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="solve")
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=jobs.exit_with_parent, initargs=(os.getpid(),),
        )
        for _ in range(workers):
            pool.submit(jobs.warm_up)
        return pool

    def run(self, fn: Callable[..., T], *args: Any, wait_s: float) -> T:
        """Run ``fn(*args)`` in the pool and wait at most ``wait_s`` for its result."""
        if not self._slots.acquire(blocking=False):
            raise Busy("every solve worker and queue place is taken; retry in a minute")
        try:
            future: Future[T] = self._submit(fn, *args)
            try:
                return future.result(timeout=wait_s)
            except FutureTimeout:
                future.cancel()
                raise SolveFailed(
                    f"the solve did not finish within {wait_s:g} s; the current plan is unchanged",
                    status_code=504,
                ) from None
            except BrokenProcessPool:
                self.check()
                raise SolveFailed(
                    "the solve worker died; the current plan is unchanged", status_code=503
                ) from None
        finally:
            self._slots.release()

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Submit to the pool, replacing it first if a worker died since the last job."""
        self.check()
        with self._lock:
            try:
                return self._executor.submit(fn, *args)
            except BrokenProcessPool:  # broken between the check and the submit
                self._replace()
                return self._executor.submit(fn, *args)

    def _broken(self) -> bool:
        return bool(getattr(self._executor, "_broken", False))

    def _replace(self) -> None:
        old, self._executor = self._executor, self._new_executor()
        self.rebuilt += 1
        log.warning("a solve worker died; the solve pool was rebuilt")
        old.shutdown(wait=False, cancel_futures=True)

    def check(self) -> bool:
        """Replace a broken pool; True when the pool is usable."""
        with self._lock:
            if self._broken():
                self._replace()
            return not self._broken()

    def worker_pids(self) -> list[int]:
        """PIDs of the worker processes (none for a thread pool)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
