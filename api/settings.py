"""Service settings, read from ``VILLAGEGRID_*`` environment variables (or a ``.env`` file).

Nothing reads the environment behind the caller's back: :func:`get_settings` builds the
settings once and the app receives them; tests build their own ``Settings(...)`` and pass them
to :func:`api.app.create_app`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the plan service, with its unit in the name."""

    model_config = SettingsConfigDict(
        env_prefix="VILLAGEGRID_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///./villagegrid.db",
        description="SQLAlchemy URL: a SQLite file, or postgresql+psycopg://user@host:5432/db",
    )
    plan_workers: int = Field(default=2, ge=1, le=64, description="solves running at once")
    plan_pool: Literal["process", "thread"] = Field(
        default="process", description="worker pool kind for solves and fallback plans"
    )
    solve_time_limit_s: float = Field(
        default=60.0, gt=0, le=3600, description="default and maximum solver time limit"
    )
    solve_wait_margin_s: float = Field(
        default=60.0, ge=0, le=3600, description="time allowed beyond the solver limit for inputs"
    )
    auto_plan_local_time: str = Field(
        default="17:00", description="HH:MM local time at which each site's next day is planned"
    )
    scheduler_enabled: bool = Field(
        default=True, description="run the automatic planning in this process"
    )
    poll_interval_s: int = Field(
        default=10, ge=1, le=3600, description="longest Cache-Control max-age given to controllers"
    )
    dispatch_intervals: int = Field(
        default=4, ge=1, le=96, description="intervals in a dispatch answer (current + next)"
    )
    dispatch_cache_ttl_s: float = Field(
        default=1.0, ge=0, le=300,
        description="how often this process reads the change feed (plans, sites, keys changed "
        "in any process) [s]; 0: never"
    )
    key_cache_ttl_s: float = Field(
        default=30.0, ge=0, le=3600, description="how long a process trusts a cached API key"
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, le=100_000_000, description="larger request bodies get 413"
    )
    replan_deviation_pu: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="measured minus planned storage level, as a share of the usable range, "
        "above which telemetry triggers a re-plan of the rest of the day",
    )

    web_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 90, description="how long a login to the web pages lasts"
    )
    replans_per_hour: int = Field(
        default=12, ge=1, le=10_000,
        description="re-plans from telemetry per hour, per key and per site (429 beyond)",
    )
    plans_in_flight_per_key: int = Field(
        default=2, ge=1, le=1000, description="plan requests of one key solving at once (429)"
    )
    fallback_plans_per_day: int = Field(
        default=48, ge=1, le=100_000,
        description="fallback plans one key may have made for dispatch at an explicit `at`, "
        "per day (429 beyond; polls for the current moment are always answered)",
    )
    auth_failures_per_minute: int = Field(
        default=30, ge=1, le=100_000,
        description="failed authentications per client address per minute (429 beyond)",
    )
    superseded_plans_kept: int = Field(
        default=8, ge=1, le=1000,
        description="superseded and fallback plans kept per site and local day, newest first; "
        "older ones are deleted (current plans are always kept)",
    )
    # --- MQTT push (docs/api.md, "MQTT") -------------------------------------------------
    mqtt_enabled: bool = Field(default=False, description="publish plans to an MQTT broker")
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port")
    mqtt_username: str | None = Field(default=None, description="broker user of the service")
    mqtt_password: SecretStr | None = Field(default=None, description="its password")
    mqtt_tls: bool = Field(default=False, description="connect with TLS")
    mqtt_ca_file: str | None = Field(default=None, description="CA bundle for the broker")
    mqtt_cert_file: str | None = Field(default=None, description="client certificate (PEM)")
    mqtt_key_file: str | None = Field(default=None, description="its private key (PEM)")
    mqtt_client_id: str = Field(default="", max_length=64,
                                description="MQTT client id; empty: villagegrid-<host>-<pid>")
    mqtt_base_topic: str = Field(default="villagegrid", pattern=r"^[A-Za-z0-9_\-/]+$",
                                 description="first level(s) of every site topic")
    mqtt_discovery_prefix: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9_\-/]+$",
                                       description="Home Assistant discovery prefix")
    mqtt_expiry_grace_s: int = Field(
        default=60, ge=0, le=86400,
        description="a setpoint expires on the broker this long after its interval ends")
    mqtt_reconnect_max_s: float = Field(
        default=30.0, ge=1, le=3600, description="longest wait between reconnect attempts")

    @field_validator("auto_plan_local_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
        if m is None:
            raise ValueError(f"must be a local clock time HH:MM such as '17:00', got {value!r}")
        return value

    @property
    def auto_plan_hour_minute(self) -> tuple[int, int]:
        hour, minute = self.auto_plan_local_time.split(":")
        return int(hour), int(minute)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment once."""
    return Settings()
