"""The site model: example sites load, each rule rejects a bad value naming the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sites.load import SiteError, dump_site, load_site, parse_site, site_from_data
from sites.schema import Battery, BiogasFuel, Digester, Genset, Grid, Site

SITES_DIR = Path(__file__).resolve().parents[2] / "sites"
EXAMPLES = sorted(SITES_DIR.glob("*.yaml"))


def minimal() -> dict:
    """A small valid site as plain data, for tests to break one field at a time."""
    return {
        "name": "test-site",
        "location": {"latitude_deg": 24.0, "longitude_deg": 113.0, "timezone": "Asia/Shanghai"},
        "devices": [
            {
                "name": "roof",
                "kind": "pv_array",
                "surface": "roof",
                "tilt_deg": 20,
                "azimuth_deg": 180,
                "dc_capacity_kwp": 10,
                "inverter_ac_kw": 8,
            },
            {
                "name": "village-battery",
                "kind": "battery",
                "capacity_kwh": 20,
                "max_charge_kw": 10,
                "max_discharge_kw": 10,
            },
            {
                "name": "digester",
                "kind": "digester",
                "feedstocks": [
                    {"name": "manure", "kg_per_day": 100, "biogas_yield_m3_per_kg": 0.06}
                ],
                "holder_max_m3": 10,
                "holder_initial_m3": 5,
            },
            {
                "name": "genset",
                "kind": "genset",
                "fuel": {"type": "biogas", "digester": "digester", "m3_per_kwh": 0.6},
                "rated_kw": 5,
                "heat_recovery_pu": 1.0,
            },
            {"name": "homes", "kind": "load", "type": "fixed", "daily_energy_kwh": 30},
            {
                "name": "pump",
                "kind": "load",
                "type": "shiftable",
                "energy_kwh": 10,
                "max_power_kw": 5,
                "window_start_h": 6,
                "window_end_h": 18,
            },
            {
                "name": "cold-store",
                "kind": "heat_load",
                "profile_kw": [1.0] * 24,
                "chp_units": ["genset"],
            },
            {
                "name": "grid",
                "kind": "grid",
                "max_import_kw": 50,
                "import_tariff": [{"start_h": 0, "end_h": 24, "price_per_kwh": 0.6}],
                "carbon_kgco2_per_kwh": 0.5,
            },
        ],
    }


def errors_of(data: dict) -> list[str]:
    with pytest.raises(SiteError) as info:
        site_from_data(data)
    return info.value.errors


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_sites_load_and_round_trip(path: Path) -> None:
    site = load_site(path)
    assert site.devices
    assert parse_site(dump_site(site)) == site


def test_there_are_three_example_villages() -> None:
    names = {load_site(p).name for p in EXAMPLES}
    assert {"demo-village", "mountain-hamlet", "dairy-cooperative"} <= names


def test_demo_village_has_what_the_demo_needs() -> None:
    site = load_site(SITES_DIR / "demo_village.yaml")
    surfaces = {d.surface for d in site.devices if d.kind == "pv_array"}  # type: ignore[union-attr]
    assert surfaces == {"roof", "facade"}
    gensets = site.of_type(Genset)
    assert any(isinstance(g.fuel, BiogasFuel) for g in gensets)
    assert site.of_type(Battery) and site.of_type(Digester) and site.of_type(Grid)
    assert {d.type for d in site.devices if d.kind == "load"} == {"fixed", "shiftable"}  # type: ignore[union-attr]


def test_minimal_site_is_valid() -> None:
    site = site_from_data(minimal())
    assert isinstance(site, Site)
    assert site.step_minutes == 60 and site.currency == "CNY"
    assert site.device("digester").biogas_m3_per_day == pytest.approx(6.0)  # type: ignore[union-attr]


# (device index, field, bad value, expected words in the message)
FIELD_RULES = [
    (0, "tilt_deg", 95, "must be ≤ 90"),
    (0, "azimuth_deg", 360, "must be < 360"),
    (0, "dc_capacity_kwp", 0, "must be > 0"),
    (0, "losses_pct", -1, "must be ≥ 0"),
    (0, "albedo_pu", 1.5, "must be ≤ 1"),
    (0, "temperature_model", "sunbathing", "must be one of 'sapm_open_rack_glass_glass'"),
    (1, "charge_efficiency_pu", 1.3, "must be ≤ 1"),
    (1, "capacity_kwh", -5, "must be > 0"),
    (1, "self_discharge_pu_per_day", 0.9, "must be ≤ 0.5"),
    (2, "methane_fraction_pu", 0.95, "must be ≤ 0.85"),
    (2, "holder_max_m3", 0, "must be > 0"),
    (3, "rated_kw", 0, "must be > 0"),
    (3, "heat_recovery_pu", 4, "must be ≤ 3"),
    (4, "daily_energy_kwh", 0, "must be > 0"),
    (5, "window_start_h", 25, "must be ≤ 24"),
    (7, "max_import_kw", -1, "must be ≥ 0"),
    (7, "carbon_kgco2_per_kwh", 3, "must be ≤ 2"),
]


@pytest.mark.parametrize(("index", "field", "value", "words"), FIELD_RULES)
def test_field_rules_name_the_field_and_value(
    index: int, field: str, value: object, words: str
) -> None:
    data = minimal()
    data["devices"][index][field] = value
    [message] = errors_of(data)
    name = data["devices"][index]["name"]
    assert message.startswith(f"devices[{index}] ({name}).{field}: ")
    assert words in message
    assert repr(value) in message or str(value) in message


def test_error_message_format_matches_the_documented_example() -> None:
    data = minimal()
    data["devices"][1]["charge_efficiency_pu"] = 1.3
    assert errors_of(data) == [
        "devices[1] (village-battery).charge_efficiency_pu: must be ≤ 1, got 1.3"
    ]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: d["devices"][1].update(soc_min_pu=0.9, soc_max_pu=0.5),
            "soc_min_pu (0.9) must be < soc_max_pu",
        ),
        (lambda d: d["devices"][1].update(initial_soc_pu=0.05), "initial_soc_pu must lie in"),
        (lambda d: d["devices"][1].update(end_soc_pu=0.99), "end_soc_pu must lie in"),
        (lambda d: d["devices"][2].update(holder_initial_m3=20), "holder_initial_m3 must lie in"),
        (
            lambda d: d["devices"][2].update(holder_min_m3=10),
            "holder_min_m3 (10.0) must be < holder_max_m3",
        ),
        (
            lambda d: d["devices"][5].update(window_end_h=6),
            "window_start_h and window_end_h must differ",
        ),
        (lambda d: d["devices"][5].update(energy_kwh=100), "exceeds max_power_kw × window"),
        (
            lambda d: d["devices"][5].update(min_power_kw=6),
            "min_power_kw (6.0) must be ≤ max_power_kw",
        ),
        (
            lambda d: d["devices"][4].update(profile_kw=[1.0] * 24),
            "exactly one of profile_kw or daily_energy_kwh",
        ),
        (lambda d: d["devices"][6].update(profile_kw=[1.0] * 23), "24 hourly values, got 23"),
        (lambda d: d["devices"][0].update(usable_area_m2=10), "exceeds usable_area_m2"),
        (
            lambda d: d["devices"][7].update(
                import_tariff=[{"start_h": 0, "end_h": 12, "price_per_kwh": 1}]
            ),
            "hour 12 is uncovered",
        ),
        (
            lambda d: d["devices"][7].update(
                import_tariff=[
                    {"start_h": 0, "end_h": 24, "price_per_kwh": 1},
                    {"start_h": 8, "end_h": 9, "price_per_kwh": 2},
                ]
            ),
            "hour 8 is covered twice",
        ),
        (
            lambda d: d["devices"][7].update(
                outages=[{"start": "2026-07-01T10:00", "end": "2026-07-01T12:00"}]
            ),
            "must carry a UTC offset",
        ),
        (
            lambda d: d["devices"][7].update(
                outages=[{"start": "2026-07-01T12:00+08:00", "end": "2026-07-01T10:00+08:00"}]
            ),
            "must be after start",
        ),
    ],
)
def test_cross_field_rules(change, words: str) -> None:  # type: ignore[no-untyped-def]
    data = minimal()
    change(data)
    messages = errors_of(data)
    assert any(words in m for m in messages), messages
    assert all(m.startswith("devices[") for m in messages)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: d["devices"][3]["fuel"].update(digester="nowhere"),
            "no digester named 'nowhere'",
        ),
        (lambda d: d["devices"][6].update(chp_units=["roof"]), "'roof' is not a genset"),
        (
            lambda d: d["devices"].append(copy.deepcopy(d["devices"][1])),
            "repeated: village-battery",
        ),
        (
            lambda d: d["devices"].append(copy.deepcopy(d["devices"][7]) | {"name": "grid2"}),
            "at most one grid",
        ),
        (
            lambda d: d.update(
                devices=[
                    x
                    for x in d["devices"]
                    if x["kind"] not in ("pv_array", "genset", "grid", "heat_load")
                ]
            ),
            "at least one supply",
        ),
        (lambda d: d["location"].update(timezone="Mars/Base"), "IANA time zone"),
    ],
)
def test_site_level_references(change, words: str) -> None:  # type: ignore[no-untyped-def]
    data = minimal()
    change(data)
    assert any(words in m for m in errors_of(data))


def test_unknown_keys_are_rejected_everywhere() -> None:
    data = minimal()
    data["colour"] = "red"
    data["devices"][1]["colour"] = "blue"
    data["devices"][3]["fuel"]["octane"] = 95
    messages = errors_of(data)
    assert "colour: unknown field" in messages
    assert "devices[1] (village-battery).colour: unknown field" in messages
    assert "devices[3] (genset).fuel.octane: unknown field" in messages


def test_every_error_is_reported_not_just_the_first() -> None:
    data = minimal()
    data["devices"][0]["tilt_deg"] = -3
    data["devices"][1]["charge_efficiency_pu"] = 2
    data["devices"][7]["max_import_kw"] = -1
    assert len(errors_of(data)) == 3


def test_unknown_kind_lists_the_kinds() -> None:
    data = minimal()
    data["devices"].append({"name": "mill", "kind": "windmill"})
    [message] = errors_of(data)
    assert message.startswith("devices[8] (mill): kind must be one of")
    assert "'windmill'" in message and "'battery'" in message


def test_missing_required_field() -> None:
    data = minimal()
    del data["devices"][1]["capacity_kwh"]
    assert errors_of(data) == [
        "devices[1] (village-battery).capacity_kwh: required field is missing"
    ]


def test_site_is_frozen() -> None:
    site = site_from_data(minimal())
    with pytest.raises(ValueError):
        site.step_minutes = 15  # type: ignore[misc]


def test_tariff_lookup_wraps_midnight() -> None:
    data = minimal()
    data["devices"][7]["import_tariff"] = [
        {"start_h": 22, "end_h": 6, "price_per_kwh": 0.3},
        {"start_h": 6, "end_h": 22, "price_per_kwh": 0.9},
    ]
    grid = site_from_data(data).device("grid")
    assert [grid.import_price_at(h) for h in (23.5, 0, 5.75, 6, 21.9)] == [0.3, 0.3, 0.3, 0.9, 0.9]  # type: ignore[union-attr]


def test_chp_references_are_checked_on_any_kind() -> None:
    from sites.references import reference_errors

    devices = [
        {"name": "grid", "kind": "grid"},
        {"name": "store", "kind": "any_new_kind", "chp_units": ["grid"]},
    ]
    assert reference_errors(devices) == [
        "devices[1] (store).chp_units: 'grid' is not a genset with heat_recovery_pu > 0"
    ]
