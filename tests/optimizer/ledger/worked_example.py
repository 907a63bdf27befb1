"""The pig farm of the worked example in docs/ledger.md: its site and its month of readings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from optimizer.ledger.readings import Reading
from tests.optimizer.toy import toy_site

CST = timezone(timedelta(hours=8))
START = datetime(2026, 4, 1, tzinfo=CST)
END = datetime(2026, 5, 1, tzinfo=CST)


def farm(**ledger):
    digester = {
        "name": "dig", "kind": "digester", "holder_max_m3": 80, "holder_initial_m3": 20,
        "feedstocks": [{"name": "pigs", "kg_per_day": 1000, "substrate": "pig_manure"}],
        "efficiency_pu": 0.7, "methane_fraction_pu": 0.6, "leakage_pu": 0.05,
    }
    genset = {"name": "gen", "kind": "genset", "rated_kw": 10,
              "fuel": {"type": "biogas", "digester": "dig", "m3_per_kwh": 0.6}}
    grid = {"name": "grid", "kind": "grid", "max_import_kw": 50,
            "import_tariff": [{"start_h": 0, "end_h": 24, "price_per_kwh": 0.6}],
            "carbon_kgco2_per_kwh": 0.5366}
    settings = {"baseline_system": "liquid_slurry", "annual_mean_air_c": 20.0,
                "previous_cooking_fuel": "lpg", **ledger}
    return toy_site(digester, genset, grid, ledger=settings)  # fmt: skip


def month(gas_m3=1500.0, cooking_m3=300.0, flared_m3=50.0, genset_kwh=1900.0):
    """April 2026: 30 deliveries of 1000 kg, registers read at the month's two ends."""
    out = [Reading("feedstock", "dig", START + timedelta(days=d, hours=12), 1000.0, "pigs")
           for d in range(30)]
    for kind, device, meter, value in (
        ("gas_produced", "dig", "gas", gas_m3), ("gas_cooking", "dig", "stoves", cooking_m3),
        ("gas_flared", "dig", "flare", flared_m3), ("genset_energy", "gen", "gen", genset_kwh),
        ("pv_energy", "roof", "roof", 2000.0),
    ):
        out += [Reading(kind, device, START, 0.0, meter), Reading(kind, device, END, value, meter)]
    out += [Reading("holder_level", "dig", START, 20.0, "dig"),
            Reading("holder_level", "dig", END, 30.0, "dig")]
    return out
