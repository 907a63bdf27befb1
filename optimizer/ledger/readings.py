"""Readings of the biogas chain and the rules that refuse implausible ones.

A reading is one of :data:`KINDS`: a feedstock delivery (kg), a meter register (cumulative
m³ or kWh), or a level (the gas holder, m³). The rules are pure functions of the site, the
readings already kept and the new ones; each broken rule is a message naming the field, the
rule and the bad value (docs/ledger.md, *Plausibility rules*).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sites.schema import Digester, Feedstock, Genset, Site

#: kind -> (unit of ``value``, what it is, device kind it belongs to; ``NoneType``: any name,
#: e.g. a group of PV meters)
KINDS: dict[str, tuple[str, str, type]] = {
    "feedstock": ("kg", "delivery", Digester),
    "gas_produced": ("m3", "register", Digester),
    "gas_flared": ("m3", "register", Digester),
    "gas_cooking": ("m3", "register", Digester),
    "holder_level": ("m3", "level", Digester),
    "genset_energy": ("kWh", "register", Genset),
    "heat_delivered": ("kWh", "register", Genset),
    "pv_energy": ("kWh", "register", type(None)),
}
#: How far ahead of the clock a reading may be stamped.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Reading:
    """One reading; ``meter`` defaults to the device (for feedstock: the feedstock name)."""

    kind: str
    device: str
    at: datetime
    value: float
    meter: str = ""
    ts_pu: float | None = None  #: measured total solids of a delivery [-]
    hours: float | None = None  #: running-hours register of a genset [h]
    recorded_by: str = ""

    @property
    def key(self) -> tuple[str, str, str, datetime]:
        """What makes two readings the same: kind, device, meter and time."""
        return (self.kind, self.device, self.meter or self.device, self.at)

    def same_content(self, other: Reading) -> bool:
        return (self.value, self.ts_pu, self.hours) == (other.value, other.ts_pu, other.hours)


def with_meter(reading: Reading) -> Reading:
    """The reading with its meter filled in."""
    return reading if reading.meter else replace(reading, meter=reading.device)


def feedstock_of(digester: Digester, name: str) -> Feedstock | None:
    return next((f for f in digester.feedstocks if f.name == name), None)


def biogas_potential_m3(digester: Digester, feed: Feedstock, kg: float,
                        ts_pu: float | None = None) -> float:
    """Biogas a delivery can yield at its B0, i.e. with efficiency 1 [m³].

    ``kg · TS · VS · B0 / x_CH4`` for substrate-form feeds (a measured ``ts_pu`` replaces the
    site's TS); ``kg · yield`` for a feed given by its realised yield.
    """
    parts = feed.composition()
    if parts is None:
        assert feed.biogas_yield_m3_per_kg is not None
        return kg * feed.biogas_yield_m3_per_kg
    ts, vs, b0 = parts
    return kg * (ts if ts_pu is None else ts_pu) * vs * b0 / digester.methane_fraction_pu


def _shape_errors(site: Site, r: Reading, where: str, now: datetime) -> list[str]:
    if r.kind not in KINDS:
        return [f"{where}.kind: must be one of {', '.join(KINDS)}, got {r.kind!r}"]
    errors = []
    if r.at.tzinfo is None:
        errors.append(f"{where}.at: must carry a UTC offset, got {r.at.isoformat()}")
    elif r.at > now + CLOCK_SKEW:
        errors.append(f"{where}.at: a time in the future is refused, got {r.at.isoformat()} "
                      f"(now {now.isoformat()})")
    if not r.value >= 0 or r.value == float("inf"):
        errors.append(f"{where}.value: must be a finite number ≥ 0, got {r.value}")
    wanted = KINDS[r.kind][2]
    if wanted is not type(None):
        devices = {d.name: d for d in site.of_type(wanted)}
        if r.device not in devices:
            errors.append(f"{where}.device: {r.kind} readings name a {wanted.__name__.lower()} of "
                          f"site {site.name!r} ({', '.join(devices) or 'none'}), got {r.device!r}")
        elif r.kind == "feedstock" and feedstock_of(devices[r.device], r.meter) is None:
            names = ", ".join(f.name for f in devices[r.device].feedstocks)
            errors.append(f"{where}.meter: a delivery names a feedstock of {r.device} "
                          f"({names}), got {r.meter!r}")
    if r.ts_pu is not None and (r.kind != "feedstock" or not 0 < r.ts_pu <= 1):
        errors.append(f"{where}.ts_pu: a TS measurement belongs to a feedstock delivery and "
                      f"lies in (0, 1], got {r.ts_pu}")
    if r.hours is not None and (r.kind != "genset_energy" or r.hours < 0):
        errors.append(f"{where}.hours: running hours belong to genset_energy and are ≥ 0, "
                      f"got {r.hours}")
    return errors


def _neighbours(series: Sequence[Reading], r: Reading) -> tuple[Reading | None, Reading | None]:
    before = [x for x in series if x.at < r.at]
    after = [x for x in series if x.at > r.at]
    return (max(before, key=lambda x: x.at) if before else None,
            min(after, key=lambda x: x.at) if after else None)


def _register_errors(series: Sequence[Reading], r: Reading, where: str) -> list[str]:
    unit = KINDS[r.kind][0]
    prev, nxt = _neighbours(series, r)
    errors = []
    for other, sign in ((prev, 1), (nxt, -1)):
        if other is None:
            continue
        delta = (r.value - other.value) * sign
        if delta < 0:
            errors.append(
                f"{where}.value: a meter register cannot fall (negative meter delta): "
                f"{r.value:g} {unit} at {r.at.isoformat()} against {other.value:g} {unit} at "
                f"{other.at.isoformat()}")
        if r.hours is not None and other.hours is not None and (r.hours - other.hours) * sign < 0:
            errors.append(f"{where}.hours: running hours cannot fall, got {r.hours:g} against "
                          f"{other.hours:g} at {other.at.isoformat()}")
        if r.hours is not None and other.hours is not None:
            span_h = abs((r.at - other.at).total_seconds()) / 3600
            if abs(r.hours - other.hours) > span_h * (1 + 1e-9):
                errors.append(f"{where}.hours: {abs(r.hours - other.hours):g} h of running in "
                              f"{span_h:g} h of time")
    return errors


def _gas_errors(site: Site, series: Sequence[Reading], feeds: Iterable[Reading], r: Reading,
                where: str) -> list[str]:
    """Gas made between two gas-meter readings within what the feedstock can yield at B0."""
    prev, _ = _neighbours(series, r)
    if prev is None:
        return []
    digester = site.device(r.device)
    assert isinstance(digester, Digester)
    since = prev.at - timedelta(days=digester.retention_days)
    potential = 0.0
    for f in feeds:
        feed = feedstock_of(digester, f.meter)
        if f.device == r.device and since < f.at <= r.at and feed is not None:
            potential += biogas_potential_m3(digester, feed, f.value, f.ts_pu)
    made = r.value - prev.value
    if made > potential * (1 + 1e-9):
        return [f"{where}.value: gas production of {made:g} m3 since {prev.at.isoformat()} is "
                f"above what the feedstock recorded from {since.isoformat()} can yield at its "
                f"B0 ({potential:g} m3)"]
    return []


def _level_errors(site: Site, r: Reading, where: str) -> list[str]:
    digester = site.device(r.device)
    assert isinstance(digester, Digester)
    if r.value > digester.holder_max_m3 * (1 + 1e-9):
        return [f"{where}.value: holder level {r.value:g} m3 is above the holder's capacity "
                f"(holder_max_m3 {digester.holder_max_m3:g})"]
    return []


def reading_errors(site: Site, kept: Sequence[Reading], new: Sequence[Reading], now: datetime
                   ) -> list[str]:
    """Every broken rule among ``new`` readings, given the ``kept`` current ones.

    ``new[i]`` is named ``readings[i]`` in the messages. Readings of one batch are checked
    against each other as well as against the kept ones.
    """
    errors: list[str] = []
    everything = list(kept)
    for i, r in enumerate(new):
        where = f"readings[{i}]"
        shape = _shape_errors(site, r, where, now)
        errors += shape
        if not shape:
            everything.append(r)
    valid = {id(r) for r in everything}
    for i, r in enumerate(new):
        if id(r) not in valid:
            continue
        where = f"readings[{i}]"
        series = [x for x in everything if x.key[:3] == r.key[:3] and x is not r]
        if KINDS[r.kind][1] == "register":
            errors += _register_errors(series, r, where)
        if r.kind == "gas_produced":
            feeds = [x for x in everything if x.kind == "feedstock"]
            errors += _gas_errors(site, series, feeds, r, where)
        if r.kind == "holder_level":
            errors += _level_errors(site, r, where)
    return errors


#: Columns of a readings CSV file (``ts_pu``, ``hours``, ``meter`` may be empty).
CSV_COLUMNS = ("kind", "device", "meter", "at", "value", "ts_pu", "hours")


def parse_time(value: str, what: str) -> datetime:
    """An ISO 8601 time with a UTC offset (naive times are refused)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what}: must be an ISO 8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what}: must carry a UTC offset, e.g. 2026-11-03T08:00+08:00, "
                         f"got {value!r}")
    return moment


def _number(value: str, what: str, optional: bool) -> float | None:
    if optional and not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what}: must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{what}: must be finite, got {value!r}")
    return number


def parse_csv(text: str, recorded_by: str = "") -> tuple[list[Reading], list[str]]:
    """Readings of a CSV text with a header of :data:`CSV_COLUMNS`; errors name the row."""
    import csv
    import io

    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:  # e.g. a line break inside an unquoted field, an oversized field
        return [], [f"CSV: not readable as comma-separated rows ({exc})"]
    header = rows[0].keys() if rows else []
    missing = [c for c in ("kind", "device", "at", "value") if c not in header]
    if not rows or missing:
        return [], [f"header: a readings CSV needs the columns {', '.join(CSV_COLUMNS)} "
                    f"(missing: {', '.join(missing) or 'every row'})"]
    out, errors = [], []
    for i, row in enumerate(rows, start=2):
        where = f"row {i}"
        try:
            out.append(with_meter(Reading(
                kind=(row.get("kind") or "").strip(), device=(row.get("device") or "").strip(),
                meter=(row.get("meter") or "").strip(),
                at=parse_time(row.get("at") or "", f"{where}.at"),
                value=_number(row.get("value") or "", f"{where}.value", False) or 0.0,
                ts_pu=_number(row.get("ts_pu") or "", f"{where}.ts_pu", True),
                hours=_number(row.get("hours") or "", f"{where}.hours", True),
                recorded_by=recorded_by)))
        except ValueError as exc:
            errors.append(str(exc))
    return out, errors
