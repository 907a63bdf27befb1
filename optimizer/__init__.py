"""Planning: a Pyomo model of the village solved by HiGHS.

``optimizer.planner`` makes plans (``make_plan``, ``Planner``), ``optimizer.plan`` holds them
(``Plan``), ``optimizer.state`` the state a plan starts from and ``optimizer.errors`` the
errors. ``import optimizer`` itself loads nothing.
"""

from __future__ import annotations


def _scipy_without_extras() -> None:
    """Let Pyomo import ``scipy`` without ``scipy.stats``, ``.spatial`` and ``.integrate``.

    Pyomo resolves its deferred ``scipy`` (for the sparse matrices of its standard-form
    compiler) with a callback, ``pyomo.common.dependencies._finalize_scipy``, that imports
    those subpackages too, and it runs that callback as soon as any code imports ``scipy``
    (pvlib does). The planner uses none of them; ``scipy.stats`` alone is about 0.4 s of a
    fresh process. Subpackages stay importable on use (Pyomo declares them deferred).
    """
    from pyomo.common import dependencies

    indicator = getattr(dependencies, "scipy_available", None)
    finder = getattr(dependencies, "DeferredImportCallbackFinder", None)
    if indicator is None or finder is None or not hasattr(indicator, "_callback"):
        return  # a Pyomo without this hook: scipy's extras are imported, nothing breaks
    indicator._callback = None
    waiting = getattr(finder, "_callbacks", {}).get("scipy", [])
    if indicator in waiting:
        waiting.remove(indicator)


_scipy_without_extras()
