"""The database: tables for sites, plans, current-plan pointers, telemetry, API keys and the
readings of the waste ledger.

SQLAlchemy 2 ORM on SQLite (the default, a file) or PostgreSQL (psycopg 3). The schema is
created on start with ``metadata.create_all``; docs/api.md says how later changes are migrated.

Rules the tables keep:
- a site version is never changed; a changed site file is a new row with the next ``version``;
- a plan row is never changed; it holds the plan JSON, the inputs and request it was made from,
  the site version it used, and a compact array of setpoints for dispatch;
- ``grid_limits`` holds the grid operator's limits, as received;
- ``current_plans`` points at one plan per site and local day; it is written in the same
  transaction as the plan it points to, so it always points at a complete plan;
- a reading row is never changed: a correction is a new row with the next ``revision`` of
  the same (site, kind, device, meter, at) that names the row it ``supersedes``.
- ``plan_claims`` has one row per site and local day whose automatic plan a service process
  took, so that processes sharing the database plan each night once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class UtcDateTime(TypeDecorator):
    """An aware datetime stored as UTC; naive values are refused (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class SiteVersion(Base):
    __tablename__ = "site_versions"
    __table_args__ = (UniqueConstraint("site", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    body_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PlanRow(Base):
    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_site_day", "site", "local_day"),)

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    site_version_id: Mapped[int] = mapped_column(ForeignKey("site_versions.id"))
    local_day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    step_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    summary_json: Mapped[str] = mapped_column(Text)
    request_json: Mapped[str] = mapped_column(Text)
    inputs_json: Mapped[str] = mapped_column(Text)
    plan_json: Mapped[str] = mapped_column(Text)
    dispatch_json: Mapped[str] = mapped_column(Text)


class CurrentPlan(Base):
    __tablename__ = "current_plans"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_day: Mapped[date] = mapped_column(Date, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.plan_id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PlanClaim(Base):
    """Which service process took the automatic plan of (site, local day); one row each."""

    __tablename__ = "plan_claims"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_day: Mapped[date] = mapped_column(Date, primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TelemetryRow(Base):
    __tablename__ = "telemetry"
    __table_args__ = (Index("ix_telemetry_site_at", "site", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    body_json: Mapped[str] = mapped_column(Text)
    replan_plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class GridLimitRow(Base):
    """A limit from the grid operator (export cap, import cap, curtailment, critical-peak
    period); never changed once stored."""

    __tablename__ = "grid_limits"
    __table_args__ = (Index("ix_grid_limits_site_end", "site", "end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cap_kw: Mapped[float | None] = mapped_column(Float, nullable=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")
    via: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebSession(Base):
    """A browser logged in to the pages: the hash of its cookie and the key it came from
    (the key's role and site apply; revoking the key ends the session)."""

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.key_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoginLink(Base):
    """A short-lived, single-use link that opens a web session for a key."""

    __tablename__ = "login_links"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.key_id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ReadingRow(Base):
    """A feedstock delivery, meter register or holder level (api/services/readings.py)."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("site", "kind", "device", "meter", "at", "revision"),
        Index("ix_readings_site_at", "site", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(64))
    meter: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    value: Mapped[float] = mapped_column(Float)
    ts_pu: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    supersedes: Mapped[int | None] = mapped_column(ForeignKey("readings.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
class ChangeRow(Base):
    """One change another process must see: a plan pointer moved or a fallback was stored
    (``plans``), a site got a new version (``site``), a key was revoked (``keys``);
    ``subject`` names the site, or the revoked key's id.

    Written in the transaction of the change itself; every process reads the rows after the
    last one it saw, and rebuilds what they name (see :mod:`api.services.changes`).
    """

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


def _sqlite_pragmas(engine: Engine, begin: str) -> None:
    """WAL, a busy timeout, foreign keys, and our own BEGIN (IMMEDIATE for the writer)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not emit its own BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


log = logging.getLogger("villagegrid.api")


def is_full(exc: BaseException) -> bool:
    """The database refused a write for lack of space (SQLite ``SQLITE_FULL``, PostgreSQL
    ``disk full``)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return isinstance(exc, OperationalError | DBAPIError) and (
        "database or disk is full" in text or "no space left" in text or "disk full" in text
    )


def is_outage(exc: BaseException) -> bool:
    """The database does not answer (refused or lost connection, pool exhausted)."""
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class Store:
    """Engines and sessions for one database URL; creates the schema when opened.

    On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
    database lock instead of failing when one upgrades a read to a write.
    """

    def __init__(self, url: str):
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            args = {"connect_args": {"check_same_thread": False, "timeout": 30}}
            self.engine = create_engine(url, **args)  # type: ignore[arg-type]
            self._write_engine = create_engine(url, **args)  # type: ignore[arg-type]
            _sqlite_pragmas(self.engine, "BEGIN")
            _sqlite_pragmas(self._write_engine, "BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            self._write_engine = self.engine
        try:
            Base.metadata.create_all(self._write_engine)
        except DBAPIError:  # another process created the tables at the same moment
            Base.metadata.create_all(self._write_engine)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        #: the last write failed for lack of space (cleared by the next write that succeeds)
        self.full = False
        #: the database stopped answering; one log line when it goes, one when it is back
        self.down = False

    def note_down(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning("the database is unreachable (%s: %s); answering 503 until it is back",
                        type(exc).__name__, str(exc).strip().splitlines()[0][:200])

    def note_up(self) -> None:
        if self.down:
            self.down = False
            log.warning("the database answers again")

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed."""
        with self._read() as session:
            yield session

    @contextmanager
    def writer(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or rolls back on error."""
        try:
            with self._write() as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            if is_full(exc):
                self.full = True
            raise
        self.full = False

    def ping(self) -> None:
        """Raise if the database cannot answer a query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        self._write_engine.dispose()

    def upsert_pointer(
        self, session: Session, site: str, day: date, plan_id: str, requested_at: datetime,
        now: datetime,
    ) -> None:
        """Point (site, day) at ``plan_id`` unless a later-requested plan already holds it.

        One ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement, so two concurrent
        solves cannot interleave: the plan requested last wins, whatever order they finish in.
        """
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(CurrentPlan).values(
            site=site, local_day=day, plan_id=plan_id, requested_at=requested_at, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["site", "local_day"],
            set_={
                "plan_id": stmt.excluded.plan_id,
                "requested_at": stmt.excluded.requested_at,
                "updated_at": stmt.excluded.updated_at,
            },
            where=CurrentPlan.requested_at <= stmt.excluded.requested_at,
        )
        session.execute(stmt)

    def claim(self, site: str, day: date, who: str, now: datetime, stale_before: datetime) -> bool:
        """Take the automatic plan of (site, day) for ``who``; False if another holds it.

        One ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement: the first claimer wins;
        a claim that was never finished and is older than ``stale_before`` (its process died)
        can be taken over; a finished one cannot.
        """
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(PlanClaim).values(
            site=site, local_day=day, claimed_by=who, claimed_at=now, finished_at=None
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["site", "local_day"],
            set_={"claimed_by": stmt.excluded.claimed_by, "claimed_at": stmt.excluded.claimed_at},
            where=PlanClaim.finished_at.is_(None) & (PlanClaim.claimed_at < stale_before),
        )
        with self.writer() as session:  # a row comes back only if inserted or taken over
            return session.execute(stmt.returning(PlanClaim.claimed_by)).scalar() == who

    def release_claim(self, site: str, day: date, who: str) -> None:
        """Give the claim of (site, day) back, if ``who`` holds it (its plan failed)."""
        with self.writer() as session:
            claim = session.get(PlanClaim, (site, day))
            if claim is not None and claim.claimed_by == who and claim.finished_at is None:
                session.delete(claim)

    def finish_claim(self, site: str, day: date, who: str, now: datetime) -> None:
        """Mark the claim of (site, day) done, if ``who`` still holds it."""
        with self.writer() as session:
            claim = session.get(PlanClaim, (site, day))
            if claim is not None and claim.claimed_by == who:
                claim.finished_at = now

    @staticmethod
    def pointer(session: Session, site: str, day: date) -> str | None:
        """The id of the current plan of (site, local day), if any."""
        return session.scalar(
            select(CurrentPlan.plan_id).where(
                CurrentPlan.site == site, CurrentPlan.local_day == day
            )
        )
