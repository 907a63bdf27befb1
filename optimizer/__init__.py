"""Planning: a Pyomo model of the village solved by HiGHS.

``make_plan``, ``Plan``, ``Planner`` and ``State`` are loaded on first use, so that
``import optimizer`` stays cheap (no Pyomo, no HiGHS).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "make_plan": "optimizer.plan",
    "Plan": "optimizer.plan",
    "Planner": "optimizer.planner",
    "State": "optimizer.state",
    "PlanningError": "optimizer.errors",
    "InfeasibleError": "optimizer.errors",
}

__all__ = sorted(_LAZY)


def _scipy_without_extras() -> None:
    """Let Pyomo import ``scipy`` without ``scipy.stats``, ``.spatial`` and ``.integrate``.

    Pyomo resolves its deferred ``scipy`` (for the sparse matrices of its standard-form
    compiler) with a callback, ``pyomo.common.dependencies._finalize_scipy``, that imports
    those subpackages too, and it runs that callback as soon as any code imports ``scipy``
    (pvlib does). The planner uses none of them; ``scipy.stats`` alone is about 0.4 s of a
    fresh process. Subpackages stay importable on use (Pyomo declares them deferred).
    """
    from pyomo.common import dependencies

    indicator = dependencies.scipy_available
    indicator._callback = None
    waiting = dependencies.DeferredImportCallbackFinder._callbacks.get("scipy", [])
    if indicator in waiting:
        waiting.remove(indicator)


_scipy_without_extras()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
