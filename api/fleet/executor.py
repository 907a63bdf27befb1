"""Executors that run one function over many items: in this process, or on Dask distributed.

Both have the same ``map``: results come back in the order of the items, each passed to
``on_result`` as soon as it is known. The Dask executor works on a ``LocalCluster`` it starts
(one single-threaded worker process per core asked), on an existing scheduler address, or on
any ``distributed.Client`` (e.g. one of a dask-jobqueue ``SLURMCluster``). Its scheduler
re-runs a task whose worker died (up to ``distributed.scheduler.allowed-failures`` times), so
functions given to it must be safe to run twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

#: How long a scheduler address may take to answer before it counts as unreachable [s].
CONNECT_TIMEOUT_S = 10.0

OnResult = Callable[[int, Any], None]
Errors = Literal["raise", "return"]


class ExecutorError(RuntimeError):
    """The executor cannot start: a scheduler that does not answer, a bad address."""


@dataclass(frozen=True)
class Lost:
    """What stands for the result of an item whose task raised or whose workers kept dying."""

    reason: str


class Executor(Protocol):
    description: str

    def map(
        self, fn: Callable[..., Any], items: Sequence[Any], *, shared: dict[str, Any] | None = None,
        keys: Sequence[str] | None = None, on_result: OnResult | None = None,
        errors: Errors = "raise",
    ) -> list[Any]: ...

    def close(self) -> None: ...


def _lost(exc: BaseException) -> Lost:
    return Lost(f"{type(exc).__name__}: {exc}")


class SerialExecutor:
    """Every item one after the other, called here (no Dask) or through ``call(fn, item)``,
    e.g. a pool's submit-and-wait."""

    def __init__(self, call: Callable[[Callable[..., Any], Any], Any] | None = None,
                 description: str = "serial, in this process"):
        self._call = call
        self.description = description

    def map(
        self, fn: Callable[..., Any], items: Sequence[Any], *, shared: dict[str, Any] | None = None,
        keys: Sequence[str] | None = None, on_result: OnResult | None = None,
        errors: Errors = "raise",
    ) -> list[Any]:
        """``[fn(item, **shared) for item in items]``; ``keys`` are not needed here."""
        results = []
        for i, item in enumerate(items):
            bound = partial(fn, **shared) if shared else fn
            try:
                value = bound(item) if self._call is None else self._call(bound, item)
            except Exception as exc:
                if errors == "raise":
                    raise
                value = _lost(exc)
            results.append(value)
            if on_result is not None:
                on_result(i, value)
        return results

    def close(self) -> None:
        return None


class DaskExecutor:
    """Items as tasks of a ``distributed.Client``; ``shared`` values are scattered once."""

    def __init__(self, client: Any, cluster: Any = None, description: str = ""):
        self.client = client
        self._cluster = cluster
        self.description = description or f"Dask scheduler {client.scheduler.address}"

    @classmethod
    def local(cls, workers: int) -> DaskExecutor:
        """A ``LocalCluster`` of ``workers`` processes with one thread each."""
        from distributed import Client, LocalCluster

        # The scheduler's HTTP server starts even with ``dashboard_address=None`` and then
        # warns when port 8787 is taken (dask/distributed#7207); ":0" takes a free port.
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        return cls(Client(cluster), cluster, f"Dask LocalCluster, {workers} worker process(es)")

    @classmethod
    def connect(cls, address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> DaskExecutor:
        """A client of the scheduler at ``address``; ExecutorError names it if it is not there."""
        from distributed import Client

        try:
            client = Client(address, timeout=timeout_s)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ExecutorError(
                f"--scheduler {address}: cannot reach a Dask scheduler there within "
                f"{timeout_s:g} s ({type(exc).__name__}: {exc})"
            ) from None
        return cls(client, None, f"Dask scheduler {address}")

    def worker_pids(self) -> dict[str, int]:
        """The process id of each worker, by worker address."""
        return dict(self.client.run(os.getpid))

    def map(
        self, fn: Callable[..., Any], items: Sequence[Any], *, shared: dict[str, Any] | None = None,
        keys: Sequence[str] | None = None, on_result: OnResult | None = None,
        errors: Errors = "raise",
    ) -> list[Any]:
        """Submit every item, collect the results as they finish; see the module notes."""
        from distributed import as_completed

        if not items:
            return []
        scattered = {
            name: self.client.scatter([value], broadcast=True, hash=False)[0]  # one piece
            for name, value in (shared or {}).items()
        }
        futures = self.client.map(
            fn, list(items), key=list(keys) if keys is not None else None, pure=False,
            **scattered,
        )
        where = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        try:
            for future in as_completed(futures):
                i = where[future.key]
                try:
                    value = future.result()
                except Exception as exc:
                    if errors == "raise":
                        raise
                    value = _lost(exc)
                results[i] = value
                future.release()
                if on_result is not None:
                    on_result(i, value)
        finally:
            for future in futures:
                future.release()
            for future in scattered.values():
                future.release()
        return results

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


@contextmanager
def open_executor(
    scheduler: str | None = None, workers: int | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Iterator[Executor]:
    """The executor asked for on a command line.

    ``scheduler``: connect to that Dask scheduler. Else ``workers == 1``: this process, no
    Dask. Else a ``LocalCluster`` of ``workers`` processes (default: the machine's cores).
    """
    executor: Executor
    if scheduler is not None:
        executor = DaskExecutor.connect(scheduler, timeout_s)
    elif workers == 1:
        executor = SerialExecutor()
    else:
        executor = DaskExecutor.local(workers or os.cpu_count() or 1)
    try:
        yield executor
    finally:
        executor.close()
