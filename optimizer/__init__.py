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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
