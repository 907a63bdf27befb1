"""Report: energy flows by category, monthly sums, seasons, plots written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.studies import report
from sites.load import load_site

SITES = Path(__file__).resolve().parents[3] / "sites"


@pytest.fixture(scope="module")
def demo():
    return load_site(SITES / "demo_village.yaml")


def _table(site, days: int = 365) -> pd.DataFrame:
    """A balanced synthetic operation: PV, a battery, the grid and the household load."""
    per_day = 24 * 60 // site.step_minutes
    idx = pd.date_range("2026-01-01", periods=per_day * days, freq=site.step, tz=site.tz)
    idx = idx.tz_convert("UTC")
    hour = idx.tz_convert(site.tz).hour.to_numpy()
    pv = 100 * np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    load = 25 + 15 * np.exp(-((hour - 19) ** 2) / 4)
    discharge = np.where(hour >= 18, 10.0, 0.0)
    charge = np.where((hour >= 10) & (hour < 14), 20.0, 0.0)
    net = load + charge - pv - discharge
    return pd.DataFrame(
        {
            "school-roof.pv_kw": pv,
            "households.demand_kw": load,
            "village-battery.charge_kw": charge,
            "village-battery.discharge_kw": discharge,
            "grid.import_kw": net.clip(min=0),
            "grid.export_kw": (-net).clip(min=0),
            "biogas-genset.power_kw": 0.0,
            "unserved_kw": 0.0,
        },
        index=idx,
    )


def test_flows_balance_and_sign(demo) -> None:
    table = _table(demo, 3)
    flows = report.energy_flows(demo, table)
    assert np.allclose(flows.sum(axis=1), 0.0)
    assert (flows["PV"] >= 0).all() and (flows["loads"] <= 0).all()
    assert (flows["grid export"] <= 0).all()


def test_monthly_energy_sums_to_the_year(demo) -> None:
    table = _table(demo)
    monthly = report.monthly_energy(demo, table)
    assert len(monthly) == 12
    assert monthly["PV"].sum() == pytest.approx(table["school-roof.pv_kw"].sum() * demo.step_h)
    assert monthly.loc["2026-02", "loads"] == pytest.approx(
        -28 * table["households.demand_kw"].iloc[:96].sum() * demo.step_h
    )


def test_period_kpis_has_months_and_year(demo) -> None:
    table = _table(demo, 59)

    def pv_only(site, part):
        return {"pv_kwh": part["school-roof.pv_kw"].sum() * site.step_h, "hours": len(part)}

    kpis = report.period_kpis(demo, table, kpis=pv_only)
    assert list(kpis.index) == ["2026-01", "2026-02", "year"]
    assert kpis.loc["2026-01", "hours"] == 31 * 96
    assert kpis.loc["year", "pv_kwh"] == pytest.approx(kpis.iloc[:2]["pv_kwh"].sum())


def test_seasons_flip_in_the_south(demo) -> None:
    assert report.seasons(demo)["Jun-Aug"] == (6, 7, 8)
    south = demo.model_copy(
        update={"location": demo.location.model_copy(update={"latitude_deg": -20.0})}
    )
    assert report.seasons(south)["Jun-Aug"] == (12, 1, 2)


def test_heatmap_falls_back_to_unserved_off_grid() -> None:
    hamlet = load_site(SITES / "mountain_hamlet.yaml")
    assert report.heatmap_column(hamlet, pd.DataFrame())[0] == "unserved_kw"


def test_plots_are_drawn_and_save_as_png(demo, tmp_path) -> None:
    table = _table(demo, 120)
    for draw, name in (
        (report.plot_monthly_balance, "balance.png"),
        (report.plot_year_heatmap, "heatmap.png"),
        (report.plot_typical_days, "typical.png"),
    ):
        out = tmp_path / name
        draw(demo, table).savefig(out, dpi=110)  # the library draws; the caller saves
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert out.stat().st_size > 10_000
    means = report.typical_days(demo, table)
    assert set(means) == {"Dec-Feb", "Mar-May"}  # January to April only
    assert means["Dec-Feb"]["PV"].iloc[12] == pytest.approx(100.0)


def test_plot_labels_are_unambiguous_for_a_short_period(demo) -> None:
    table = _table(demo, 7)
    balance = report.plot_monthly_balance(demo, table)
    labels = [t.get_text() for t in balance.axes[0].get_xticklabels()]
    assert labels == ["Jan 2026"]  # not "Jan 26", which reads as a day
    typical = report.plot_typical_days(demo, table)
    shown = [ax for ax in typical.axes if ax.get_visible()]
    assert len(shown) == 1
    assert shown[0].xaxis.get_tick_params()["labelbottom"]  # hour labels on the only panel
    zero = table.assign(**{"grid.import_kw": 0.0})
    heat = report.plot_year_heatmap(demo, zero)
    assert heat.axes[0].images[0].get_clim() == (0.0, 1.0)  # no negative kW on the scale
