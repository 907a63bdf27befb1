"""Fixtures: the real app on a real database, SQLite (a temporary file) and PostgreSQL.

PostgreSQL tests use a fresh schema per test (dropped afterwards) on
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; they skip when it does not answer,
unless ``CI=true``, when they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.keys import create_key
from api.settings import Settings
from api.store import Store

PG_URL = os.environ.get(
    "VILLAGEGRID_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SITE_YAML = (Path(__file__).parents[2] / "sites" / "demo_village.yaml").read_text()
SITE = "demo-village"
#: 10:07 local time (UTC+8) on 1 July 2026, the clock of most tests.
NOW = datetime(2026, 7, 1, 2, 7, tzinfo=UTC)


def _pg_conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(_pg_conninfo(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is unreachable: {exc}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for one test: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'villagegrid.db'}"
        return
    import psycopg

    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)")
        pytest.skip(problem)
    schema = f"vg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Clock:
    """A settable clock for the app (the ``get_now`` dependency)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(db_url: str, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "database_url": db_url,
        "scheduler_enabled": False,
        "plan_pool": "thread",
        "plan_workers": 2,
        "solve_time_limit_s": 60,
    }
    return Settings(**{**base, **overrides})


class Api:
    """A running app with a client, a clock, and keys of every role."""

    def __init__(self, db_url: str, clock: Clock, **overrides: object):
        self.settings = settings_for(db_url, **overrides)
        self.app = create_app(self.settings, clock=clock)
        self.clock = clock
        self.client = TestClient(self.app)
        self.client.__enter__()
        store = Store(db_url)
        try:
            self.tokens = {
                role: create_key(store, role, site, clock.now)[1]
                for role, site in (("admin", None), ("manager", None))
            }
            self.tokens["controller"] = create_key(store, "controller", SITE, clock.now)[1]
            self.tokens["other"] = create_key(store, "controller", "other-village", clock.now)[1]
        finally:
            store.dispose()

    def auth(self, who: str = "manager") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def put_site(self, text: str = SITE_YAML) -> dict:
        r = self.client.post(
            "/v1/sites", content=text, headers={**self.auth(), "Content-Type": "application/yaml"}
        )
        assert r.status_code == 201, r.text
        return r.json()

    def plan(self, body: dict, site: str = SITE, expect: int = 201) -> dict:
        r = self.client.post(f"/v1/sites/{site}/plans", json=body, headers=self.auth())
        assert r.status_code == expect, r.text
        return r.json()

    def dispatch(self, who: str = "controller", site: str = SITE, **params: str):  # type: ignore[no-untyped-def]
        return self.client.get(f"/v1/sites/{site}/dispatch", params=params, headers=self.auth(who))

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture
def make_api(db_url: str) -> Iterator[Callable[..., Api]]:
    """Start apps on this test's database; each is stopped at the end of the test."""
    started: list[Api] = []

    def start(clock: Clock | None = None, **overrides: object) -> Api:
        api = Api(db_url, clock or Clock(NOW), **overrides)
        started.append(api)
        return api

    yield start
    for api in reversed(started):
        api.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
