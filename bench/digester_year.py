"""A year of the dairy cooperative with its digester heated by the CHP and unheated.

Prints the biogas made, the mean digester temperature and the genset energy of each
variant (site climatology for air temperature, clear-sky PV). Figures go to docs/ledger.md.

    python bench/digester_year.py [DAYS]
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

from optimizer.studies.simulation import period_inputs, simulate
from sites.load import load_site


def main(days: int) -> None:
    site = load_site(Path(__file__).parents[1] / "sites" / "dairy_cooperative.yaml")
    unheated = site.model_copy(update={"devices": tuple(
        d.model_copy(update={"heated_by": ()}) if d.name == "manure-digester" else d
        for d in site.devices)})
    for label, variant in (("heated", site), ("unheated", unheated)):
        t0 = time.perf_counter()
        inputs = period_inputs(variant, date(2026, 1, 1), days, None)
        table = simulate(variant, inputs, date(2026, 1, 1), days).table
        made = table["manure-digester.produced_m3"].sum()
        temp = table["manure-digester.temperature_c"]
        print(f"{label:9s} biogas {made:10.0f} m3  mean temperature {temp.mean():5.1f} °C "
              f"(min {temp.min():4.1f})  CHP {table['chp.power_kw'].sum():9.0f} kWh  "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 365)
