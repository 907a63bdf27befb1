"""Sensitivity runs: the same study on copies of a site with one or more parameters changed.

A parameter is a dotted path into the site file: ``carbon_price_per_kgco2``,
``devices.diesel-backup.fuel.price_per_l``,
``devices.pig-digester.feedstocks.pig-manure.kg_per_day``.
Inside a list, a segment picks the item by its ``name`` (or by its index). Each changed site is
validated again, so a value out of bounds fails with the field's own message.

Several ``--vary`` parameters are combined as a full grid (every combination), as sensitivity
variables are in HOMER. The cases run in this process, or on an executor the caller gives
(``api.fleet.executor``: a Dask ``LocalCluster`` or scheduler): each case is a task that
receives the site as JSON data and its overrides; the study function must be importable
(defined at module level).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pandas as pd
import yaml

from sites.load import site_from_data
from sites.schema import Site


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """Parse ``PARAM=v1,v2,...`` into the path and the values (YAML scalars: 8.2, true, x).

    >>> parse_vary("carbon_price_per_kgco2=0,0.06,0.12")
    ('carbon_price_per_kgco2', [0, 0.06, 0.12])
    """
    path, sep, values = text.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise ValueError(f"--vary expects PARAM=v1,v2,..., got {text!r}")
    parsed = [yaml.safe_load(v.strip()) for v in values.split(",") if v.strip()]
    for raw, value in zip(values.split(","), parsed, strict=False):
        if isinstance(value, dict | list) or value is None:
            raise ValueError(f"--vary {path}: {raw.strip()!r} is not a number, word or boolean")
    return path, parsed


def _step(node: Any, segment: str, walked: str) -> tuple[Any, Any]:
    """The child container and key of ``node`` named by ``segment``."""
    if isinstance(node, dict):
        if segment not in node:
            keys = ", ".join(sorted(node))
            raise ValueError(f"{walked or 'site'} has no field {segment!r}; fields: {keys}")
        return node, segment
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("name") == segment:
                return node, i
        if segment.isdigit() and int(segment) < len(node):
            return node, int(segment)
        names = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict))
        raise ValueError(f"{walked} has no item named {segment!r}; names: {names}")
    raise ValueError(f"{walked} is a value, not a group: cannot look up {segment!r} in it")


def with_overrides(site: Site, overrides: dict[str, Any]) -> Site:
    """A validated copy of ``site`` with each dotted path set to its value."""
    data = site.model_dump(mode="json")
    for path, value in overrides.items():
        node: Any = data
        segments = path.split(".")
        walked = ""
        for segment in segments[:-1]:
            container, key = _step(node, segment, walked)
            node = container[key]
            walked = f"{walked}.{segment}" if walked else segment
        container, key = _step(node, segments[-1], walked)
        if isinstance(container[key], dict | list):
            raise ValueError(f"{path} is a group of fields, not a value")
        container[key] = value
    return site_from_data(data, source=f"{site.name} with {overrides}")


def cases(varies: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the varied values, as override dicts (in grid order)."""
    if not varies:
        return [{}]
    paths = [p for p, _ in varies]
    return [
        dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(v for _, v in varies))
    ]


def checked_cases(site: Site, varies: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Every case of the grid, each site copy built (so validated) once: a bad path or value
    fails before any work starts."""
    grid = cases(varies)
    for overrides in grid:
        with_overrides(site, overrides)
    return grid


class CaseExecutor(Protocol):
    """What runs the cases: ``map(fn, items, shared=..., on_result=...)`` in item order."""

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *, shared: dict[str, Any],
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]: ...


def run_case(
    case: dict[str, Any], *, study: Callable[..., dict[str, Any]], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """One case: ``study`` on the site of ``case['spec']`` with ``case['overrides']`` set."""
    site = site_from_data(case["spec"], source="the sensitivity site")
    result = study(with_overrides(site, case["overrides"]), **kwargs)
    return {**case["overrides"], **result}


def run_cases(
    study: Callable[..., dict[str, Any]],
    site: Site,
    varies: Sequence[tuple[str, Sequence[Any]]],
    *,
    executor: CaseExecutor | None = None,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Run ``study(site_copy, **kwargs) -> dict`` for every case; one row per case.

    All sites are built (and so validated) before any work starts, so a bad value fails at
    once. Without an ``executor`` the cases run in this process, one after the other; with
    one, ``kwargs`` are sent to the workers once and a failing case raises its error here.
    """
    grid = checked_cases(site, varies)
    spec = site.model_dump(mode="json")
    items = [{"spec": spec, "overrides": overrides} for overrides in grid]
    done = [0]

    def seen(_i: int, _row: Any) -> None:
        done[0] += 1
        if progress:
            progress(done[0], len(grid))

    shared: dict[str, Any] = {"study": study, "kwargs": kwargs}
    if executor is None:
        rows = []
        for i, item in enumerate(items):
            rows.append(run_case(item, **shared))
            seen(i, rows[-1])
    else:
        rows = executor.map(run_case, items, shared=shared, on_result=seen)
    return pd.DataFrame(rows)
