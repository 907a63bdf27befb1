"""Sentences of the plan in plain words, in one language, from ``optimizer.explain``.

The sentences only render the actions' own numbers; which action and which reason is for
``optimizer.explain`` to say. Message ids are English; ``locale/<lang>/.../messages.po``
translates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.web.i18n import N_, Local
from optimizer.devices import REGISTRY
from optimizer.explain import Action, Explanation

#: what happens, by ``Action.what`` (``shed_all``: load shed with no device named)
WHAT = {
    "run": N_("run the {device} ({on_h} h, {energy_kwh} kWh)"),
    "charge": N_("the battery {device} charges ({energy_kwh} kWh)"),
    "discharge": N_("the battery {device} supplies the village ({energy_kwh} kWh)"),
    "genset": N_("the genset {device} runs at up to {power_kw} kW"),
    "export": N_("power is sold to the grid ({energy_kwh} kWh)"),
    "outage": N_("no grid (announced outage)"),
    "holder_full": N_("the gas holder {device} is full"),
    "holder_low": N_("the gas holder {device} is nearly empty"),
    "flare": N_("biogas is burnt off at {device}"),
    "shed": N_("{device} gets no power: {power_kw} kW cut"),
    "shed_all": N_("load is cut: {power_kw} kW"),
}

#: why, by ``(what, why)`` first and by ``why`` alone next
WHY = {
    "sun": N_("the sun covers it ({solar_kwh} kWh of spare solar)"),
    "sun_part": N_("the sun gives most of it ({solar_kwh} of {energy_kwh} kWh)"),
    ("charge", "sun"): N_("spare solar fills it ({solar_kwh} kWh)"),
    ("charge", "sun_part"): N_("spare solar gives most of it ({solar_kwh} of {energy_kwh} kWh)"),
    ("export", "sun"): N_("the sun gives more than the village uses; paid {export_price_per_kwh} per kWh"),  # noqa: E501
    ("export", "price"): N_("it is paid {export_price_per_kwh} per kWh"),
    "cheap": N_("power is cheap then: {price_per_kwh} per kWh, {dearest_per_kwh} at the dearest"),
    "price": N_("power costs {price_per_kwh} per kWh then, {dearest_per_kwh} at the dearest"),
    "dear": N_("power is dear then: {price_per_kwh} per kWh"),
    ("discharge", "dear"): N_("power is dear then: {price_per_kwh} per kWh, against {cheapest_per_kwh} when it charged"),  # noqa: E501
    "battery": N_("the battery covers it ({battery_kwh} kWh)"),
    "genset": N_("the genset covers it ({genset_kwh} kWh)"),
    "grid": N_("the grid covers it ({grid_kwh} kWh)"),
    "reserve": N_("to be full before the grid goes down at {when} ({soc_pu} full)"),
    ("outage", "reserve"): N_("the battery is kept full until then ({soc_pu} full)"),
    "announced": N_("only the village's own supplies work then"),
    "outage": N_("the grid is down"),
    "no_sun": N_("the sun gives {solar_kw} kW for {load_kw} kW of load"),
    "gas_full": N_("the gas holder is nearly full ({gas_m3} of {holder_max_m3} m³)"),
    ("flare", "gas_full"): N_("the holder is full: {gas_m3} m³ burnt off"),
    "cook": N_("cook with biogas tonight ({cooking_m3} m³ are planned for cooking)"),
    "store_full": N_("more gas goes to the genset or the flare"),
    "cook_first": N_("cooking gas comes first: {cooking_m3} m³ are planned for cooking after it, so the genset waits"),  # noqa: E501
    "cook_sparingly": N_("use biogas sparingly: {cooking_m3} m³ are planned for cooking after it"),
    "short": N_("supply falls short: {energy_kwh} kWh not served"),
    "covers": N_("it covers the load"),
}
JOIN = N_("{what} — {why}")


def phrases() -> tuple[dict[str, str], dict[Any, str]]:
    """``WHAT`` and ``WHY`` with the phrases of the codes the device kinds add
    (``DeviceModel.what_phrases`` and ``why_phrases``); this module's own come first."""
    what: dict[str, str] = {}
    why: dict[Any, str] = {}
    for model in REGISTRY.values():
        what.update(model.what_phrases)
        why.update(model.why_phrases)
    return {**what, **WHAT}, {**why, **WHY}


@dataclass(frozen=True)
class Line:
    """One rendered action: its time span, its day when that changed, and its sentence."""

    time: str
    day: str | None
    what: str
    why: str
    notice: bool
    text: str


def _values(action: Action, local: Local) -> dict[str, Any]:
    """The action's numbers in the language's formats: money for prices, a percent for
    ``_pu``, hours, plain numbers for the rest."""
    out: dict[str, Any] = {"device": action.device}
    for key, value in action.numbers.items():
        if key.endswith("_per_kwh"):
            out[key] = local.money(value)
        elif key.endswith("_pu"):
            out[key] = local.percent(value)
        elif key.endswith("_h"):
            out[key] = local.number(value, 2 if value % 0.5 else 1).rstrip("0").rstrip(".,")
        else:
            out[key] = local.number(value)
    if action.when is not None:
        out["when"] = local.time(action.when)
    return out


def _span(action: Action, local: Local) -> str:
    if action.start == action.end:
        return local.time(action.start)
    end = local.time(action.end)
    days = (action.end.date() - action.start.date()).days
    if days == 1 and end == "00:00":
        end = "24:00"
    span = f"{local.time(action.start)}–{end}"
    if days >= 1 and end != "24:00":
        span = local.gettext(N_("{span} (until {day})")).format(
            span=span, day=local.short_day(action.end))
    return span


def sentence(action: Action, local: Local) -> tuple[str, str]:
    """What and why of one action, in ``local``'s language."""
    values = _values(action, local)
    what_ids, why_ids = phrases()
    what_id = what_ids["shed_all" if action.what == "shed" and not action.device else action.what]
    why_id = why_ids.get((action.what, action.why)) or why_ids[action.why]
    return (local.gettext(what_id).format(**values), local.gettext(why_id).format(**values))


def lines(explanation: Explanation, local: Local) -> list[Line]:
    """Every action of ``explanation`` as a line, in time order."""
    out = []
    last_day: datetime | None = None
    for action in explanation.actions:
        what, why = sentence(action, local)
        day = None
        if last_day is None or action.start.date() != last_day.date():
            day = local.day(action.start)
            last_day = action.start
        text = local.gettext(JOIN).format(what=what, why=why)
        out.append(Line(_span(action, local), day, what, why, action.notice, text))
    return out


def as_text(explanation: Explanation, local: Local) -> str:
    """The plan in plain words for a terminal: a heading, the lines, the totals."""
    heading = local.gettext(N_("{site}: the plan from {start} to {end}")).format(
        site=explanation.site, start=local.moment(explanation.start),
        end=local.moment(explanation.end))
    out = [heading]
    for line in lines(explanation, local):
        if line.day:
            out.append(f"  {line.day}")
        mark = "!" if line.notice else " "
        out.append(f"  {mark} {line.time:<12} {line.text}")
    if not explanation.actions:
        out.append("    " + local.gettext(N_("nothing to do: the plan runs by itself")))
    out.extend("  " + t for t in totals_text(explanation, local))
    return "\n".join(out)


def totals_text(explanation: Explanation, local: Local) -> list[str]:
    """Cost, CO2 and the savings against the rules, as sentences."""
    t = explanation.totals
    out = [local.gettext(N_("cost {cost}, emissions {emissions_kgco2} kg CO2")).format(
        cost=local.money(t.get("cost", 0.0)), emissions_kgco2=local.number(
            t.get("emissions_kgco2", 0.0)))]
    if "cost_saving" in t:
        saving, carbon = t["cost_saving"], t["emissions_saving_kgco2"]
        money_id = N_("saves {money} against the rules") if saving >= 0 else N_(
            "costs {money} more than the rules")
        carbon_id = N_("avoids {carbon} kg CO2") if carbon >= 0 else N_(
            "emits {carbon} kg CO2 more")
        out.append(local.gettext(N_("{first}, {second}")).format(
            first=local.gettext(money_id).format(money=local.money(abs(saving))),
            second=local.gettext(carbon_id).format(carbon=local.number(abs(carbon)))))
    return out
