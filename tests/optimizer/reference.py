"""Reference solves that tests compare plans with."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def least_unserved_kwh(site: Any, inputs: pd.DataFrame) -> float:
    """The least unserved energy any schedule reaches on ``inputs`` [kWh]: the site's model
    with every store's end target soft and only unserved energy as its objective (no
    emission limits, no other goal)."""
    from optimizer.model import build_model
    from optimizer.solve import HighsProblem
    from optimizer.state import State

    # any schedule: stores may end below their targets
    devices = tuple(
        d.model_copy(update={"end_target": "soft"}) if hasattr(d, "end_target") else d
        for d in site.devices
    )
    site = site.model_copy(update={"devices": devices})
    vm = build_model(site, inputs.index, inputs)
    datas = vm.set_data(inputs.index, inputs, State().resolved(site))
    problem = HighsProblem(vm, datas)
    h = problem.highs
    cm = problem.compiled
    h.changeColsCost(cm.n_cols, np.arange(cm.n_cols, dtype=np.int32), cm.rows["unserved_objective"])
    h.run()
    x = np.asarray(h.getSolution().col_value)
    return problem.compiled.value("unserved_objective", x)
