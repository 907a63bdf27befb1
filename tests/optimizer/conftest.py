"""Every plan the optimizer tests make — by the LP or by the rules — is checked against the
invariants of ``tests/optimizer/invariants.py`` as it is made."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from optimizer import baseline, planner
from sites.schema import Grid
from tests.optimizer.invariants import assert_plan_invariants, plan_problems


def _short_of_supply(site: Any, table: Any) -> bool:
    """Off grid, in an outage, or with load unserved: where the rules may miss SoC targets."""
    grids = site.of_type(Grid)
    outage = any((table[f"{g.name}.available_pu"] < 1).any() for g in grids)
    return not grids or outage or bool(np.any(table["unserved_kw"] > 1e-9))


@pytest.fixture(autouse=True)
def _check_every_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    solve = planner.Planner.plan
    rules = baseline.rule_based_plan

    def planned(self: Any, site: Any, index: Any, inputs: Any = None, state: Any = None,
                **options: Any) -> Any:  # fmt: skip
        result = solve(self, site, index, inputs, state, **options)
        assert_plan_invariants(site, result, state)
        return result

    def ruled(site: Any, inputs: Any, state: Any = None, **options: Any) -> Any:
        result = rules(site, inputs, state, **options)
        problems = plan_problems(site, result, state)
        if _short_of_supply(site, result.table):  # a documented limit of the rules
            problems = [p for p in problems if "soc" not in p]
        assert not problems, "baseline breaks its invariants:\n  " + "\n  ".join(problems)
        return result

    monkeypatch.setattr(planner.Planner, "plan", planned)
    monkeypatch.setattr(baseline, "rule_based_plan", ruled)
