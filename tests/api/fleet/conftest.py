"""Fixtures: a small county of site files made from the example villages, and databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from api.fleet.executor import DaskExecutor
from api.store import Store
from tests.api.conftest import db_url  # noqa: F401 - the SQLite and PostgreSQL fixture

SITES = Path(__file__).parents[3] / "sites"
DAY = date(2026, 7, 2)
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
#: (file, new name, county, township, factor on every load's power)
COUNTY = (
    ("mountain_hamlet.yaml", "hamlet-a", "Fugong County", "Lishadi Township", 1.0),
    ("mountain_hamlet.yaml", "hamlet-b", "Fugong County", "Lishadi Township", 1.3),
    ("mountain_hamlet.yaml", "hamlet-c", "Fugong County", "Shangpa Town", 0.7),
    ("dairy_cooperative.yaml", "dairy-a", "Saihan District", "Jinhe Town", 1.0),
    ("demo_village.yaml", "village-a", "Qingxin District", "Taihe Town", 1.0),
    ("mountain_hamlet.yaml", "hamlet-d", "Saihan District", "Jinhe Town", 1.1),
)


def write_site(folder: Path, source: str, name: str, county: str, township: str,
               factor: float) -> Path:
    """A copy of an example site under a new name and place, its loads scaled by ``factor``."""
    data = yaml.safe_load((SITES / source).read_text(encoding="utf-8"))
    data.update(name=name, county=county, township=township)
    for device in data["devices"]:
        if device["kind"] == "load" and "daily_energy_kwh" in device:
            device["daily_energy_kwh"] = round(device["daily_energy_kwh"] * factor, 3)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def county(tmp_path: Path) -> Path:
    folder = tmp_path / "county"
    folder.mkdir()
    for row in COUNTY:
        write_site(folder, *row)
    return folder


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleet.db'}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    """A LocalCluster of two single-threaded worker processes, shared by a module's tests."""
    executor = DaskExecutor.local(2)
    yield executor
    executor.close()


@pytest.fixture
def open_store() -> Iterator[Callable[[str], Store]]:
    opened: list[Store] = []

    def open_(url: str) -> Store:
        opened.append(Store(url))
        return opened[-1]

    yield open_
    for store in opened:
        store.dispose()
