"""The work of one site, as it runs on a worker: it receives JSON data and returns a plain dict.

Models are built here, in the worker, never shipped. A plan task stores its plan in the
database itself, under an id made of the site, the day and a revision (a digest of the site's
content and the request), so that running it twice — because its worker died after storing,
or because the night is run again — stores nothing twice and leaves the current pointer where
it is. Every failure of a site (a site that does not validate, infeasible parameters, a solver
error) becomes a result with its reason; only a dead worker makes a task end without one.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from api.services import jobs
from api.services.planning import ACCEPTED_STATUSES, store_plan
from api.services.sites import SiteBook, canonical_json
from api.store import PlanRow, Store
from optimizer.errors import InfeasibleError, PlanningError
from sites.load import SiteError, site_from_data
from sites.schema import Site
from sites.timeindex import day_index

#: Namespace of the deterministic plan ids (a UUID 5 of "site/day/revision").
PLAN_ID_NAMESPACE = uuid.UUID("6f1c1d5e-3b7a-5d0c-9a51-7b1c7e0f2a10")
#: HiGHS threads per task: a worker process is one core.
SOLVER_THREADS = 1
#: Least time given to HiGHS when the task's budget is already spent on its inputs [s].
MIN_SOLVER_TIME_S = 1e-3


def revision_of(site: Site, request: dict[str, Any]) -> str:
    """A digest of everything a plan is made from: the site's content and the request."""
    body = json.dumps({"site": canonical_json(site), "request": request}, sort_keys=True,
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def plan_id_of(site: str, day: date, revision: str) -> str:
    """The idempotent plan id of (site, first local day, revision): 32 hex digits."""
    return uuid.uuid5(PLAN_ID_NAMESPACE, f"{site}/{day.isoformat()}/{revision}").hex


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MB] (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _figures(meta: dict[str, Any]) -> dict[str, Any]:
    """The per-site columns of the fleet table from a plan's metadata."""
    kpis, base = meta.get("kpis") or {}, meta.get("baseline") or {}
    return {
        "status": meta.get("status"),
        "cost": kpis.get("cost"),
        "emissions_kgco2": kpis.get("emissions_kgco2"),
        "unserved_kwh": kpis.get("unserved_kwh"),
        "renewable_fraction_pu": kpis.get("renewable_fraction_pu"),
        "baseline_cost": base.get("cost"),
        "baseline_emissions_kgco2": base.get("emissions_kgco2"),
        "solve_time_s": meta.get("solve_time_s"),
    }


def site_of(spec: dict[str, Any]) -> Site:
    return site_from_data(spec, source=f"site {spec.get('name')!r}")


def head(spec: dict[str, Any], began: float) -> dict[str, Any]:
    return {
        "site": spec.get("name"), "county": spec.get("county"), "township": spec.get("township"),
        "currency": spec.get("currency", "CNY"), "worker_pid": os.getpid(),
        "cpu_began": time.process_time(),
    }


def finish(result: dict[str, Any], began: float) -> dict[str, Any]:
    """Stamp the task's wall and CPU time [s] and the worker's peak memory [MB]."""
    result["task_time_s"] = time.perf_counter() - began
    result["task_cpu_s"] = time.process_time() - result.pop("cpu_began")
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


#: Parts of a goal an item may carry besides its mode (``api.services.planning.GOAL_FIELDS``).
GOAL_EXTRAS = ("emission_budget_kgco2", "carbon_guard")


def plan_request(item: dict[str, Any]) -> dict[str, Any]:
    """The request part of a plan item: what, besides the site, a plan is made from."""
    request = {k: item[k] for k in ("date", "days", "mode", "time_limit_s")}
    request.update({k: item[k] for k in GOAL_EXTRAS if item.get(k) is not None})
    return request


def _solve(site: Site, index: Any, inputs: Any, item: dict[str, Any], deadline: float,
           now: datetime) -> tuple[Any, str]:
    """The optimised plan, or the rule-based one when the time limit cut HiGHS short."""
    from optimizer.baseline import rule_based_plan
    from optimizer.planner import Planner

    left = max(deadline - time.perf_counter(), MIN_SOLVER_TIME_S)
    try:
        plan = Planner(keep=1, threads=SOLVER_THREADS).plan(
            site, index, inputs, mode=item["mode"], time_limit_s=left, now=now,
            emission_budget_kgco2=item.get("emission_budget_kgco2"),
            carbon_guard=item.get("carbon_guard"),
        )
        return plan, ""
    except InfeasibleError:
        raise
    except PlanningError as exc:
        if time.perf_counter() < deadline:
            raise
        reason = f"time limit of {item['time_limit_s']:g} s reached ({exc}); rule-based plan"
        return rule_based_plan(site, inputs, now=now), reason


def plan_site(item: dict[str, Any], *, database_url: str) -> dict[str, Any]:
    """Plan one site's day(s) and store the plan; the fleet table's row for the site.

    ``item`` holds ``spec`` (the site as JSON data), ``date`` (first local day, ISO),
    ``days``, ``mode``, ``time_limit_s`` (the site's budget for its inputs, model and solve;
    the process's first imports are not counted), ``kind`` (stored with the plan) and
    ``now`` (ISO time of the run).
    The row's ``stored`` is ``new``, ``existing`` (the same plan id was already there) or
    None (nothing stored: the site failed, with ``reason``).
    """
    began = time.perf_counter()
    import optimizer.baseline  # noqa: F401 - a first import is the process's cost, not the site's
    import optimizer.inputs  # noqa: F401
    import optimizer.planner  # noqa: F401

    deadline = time.perf_counter() + float(item["time_limit_s"])
    spec = item["spec"]
    result = {**head(spec, began), "date": item["date"], "stored": None, "current": False,
              "plan_id": None, "revision": None, "reason": ""}
    try:
        site = site_of(spec)
    except SiteError as exc:
        return finish({**result, "status": "failed", "reason": "; ".join(exc.errors)}, began)
    day = date.fromisoformat(item["date"])
    now = datetime.fromisoformat(item["now"])
    request = plan_request(item)
    revision = revision_of(site, request)
    plan_id = plan_id_of(site.name, day, revision)
    result.update(plan_id=plan_id, revision=revision)
    store = Store(database_url)
    try:
        with store.reader() as s:
            row = s.get(PlanRow, plan_id)
            if row is not None:
                current = store.pointer(s, row.site, row.local_day) == plan_id
                meta = json.loads(row.summary_json)
                return finish({**result, **_figures(meta), "stored": "existing",
                                "current": current}, began)
        from optimizer.inputs import build_inputs

        index = day_index(site, day, int(item["days"]))
        inputs = build_inputs(site, index)
        try:
            plan, reason = _solve(site, index, inputs, item, deadline, now)
        except PlanningError as exc:
            status = "infeasible" if isinstance(exc, InfeasibleError) else "failed"
            return finish({**result, "status": status, "reason": str(exc)}, began)
        stored = jobs.stored_plan(site, replace(plan, plan_id=plan_id), inputs)
        sv, _ = SiteBook(store).put(site, now)
        days = [day + timedelta(days=i) for i in range(int(item["days"]))]
        try:
            _, current = store_plan(
                store, site.name, sv, days, item["kind"], stored, request, now,
                point=stored.status in ACCEPTED_STATUSES,
            )
            kept = "new"
        except IntegrityError:  # the same task, run again elsewhere, stored it first
            with store.reader() as s:
                kept, current = "existing", store.pointer(s, site.name, day) == plan_id
        return finish({**result, **_figures(stored.summary), "stored": kept,
                        "current": current, "reason": reason}, began)
    except Exception as exc:  # noqa: BLE001 - one site's failure never stops the others
        return finish({**result, "status": "failed",
                        "reason": f"{type(exc).__name__}: {exc}"}, began)
    finally:
        store.dispose()
