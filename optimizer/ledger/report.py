"""The monthly account as CSV rows and as a printable HTML page with inline SVG charts.

Pure text builders: the CLI and the service write or send what these return.
"""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any

CLAIM_LABELS = {
    "avoided_manure_methane": "Avoided manure methane",
    "displaced_electricity": "Displaced electricity",
    "displaced_cooking_fuel": "Displaced cooking fuel",
}
USE_COLUMNS = (("cooking_m3", "cooking", "#d9822b"), ("genset_fuel_m3", "genset", "#2b6cb0"),
               ("flared_m3", "flared", "#999999"), ("leaked_m3", "leaked", "#c53030"),
               ("stored_change_m3", "stored", "#38a169"))


def csv_rows(account: dict[str, Any]) -> list[tuple[str, str, str, Any, str, str]]:
    """``(section, item, quantity, value, unit, source)`` rows of an account."""
    rows: list[tuple[str, str, str, Any, str, str]] = []
    for d in account["digesters"]:
        name = d["digester"]
        for f in d["feedstock"]:
            rows.append(("feedstock", f"{name}/{f['feedstock']}", "fresh mass", f["kg"], "kg",
                         f["source"]))
            rows.append(("feedstock", f"{name}/{f['feedstock']}", "methane potential",
                         f["methane_potential_m3"], "m3 CH4", f["source"]))
        for key, value in d["balance"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append(("gas", name, key, value, "m3" if key.endswith("_m3") else "-", ""))
        rows.append(("gas", name, "closes", d["balance"]["closes"], "-", d["balance"]["message"]))
        rows.append(("digester", name, "realised efficiency", d["realised_efficiency_pu"], "-",
                     "methane made / methane potential"))
        for key, value in d["plan_vs_actual"].items():
            rows.append(("plan vs actual", name, key, value, "m3" if key.endswith("m3") else "-",
                         ""))
    for name, claim in account["claims"].items():
        value = claim.get("kgco2e") if claim["status"] == "claimed" else claim["status"]
        rows.append(("claim", name, "emission reduction", value, "kgCO2e",
                     claim.get("reason", claim["equation"])))
        for key, factor in claim.get("factors", {}).items():
            rows.append(("factor", name, key, factor["value"], factor["unit"],
                         f"{factor['source']}, {factor['where']}"))
    rows.append(("energy system", account["site"], "leaked methane",
                 account["energy_system_kgco2e"], "kgCO2e", "digester leakage"))
    return rows


def to_csv(account: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "quantity", "value", "unit", "source"))
    writer.writerows(csv_rows(account))
    return out.getvalue()


def _flow_svg(account: dict[str, Any]) -> str:
    """Stacked bars: methane potential → methane made → its uses [m³ CH4]."""
    potential = sum(d["methane_potential_m3"] for d in account["digesters"])
    made = sum(d["methane_made_m3"] for d in account["digesters"])
    uses = {key: sum(d["balance"][key] * d["methane_fraction_pu"] for d in account["digesters"])
            for key, _, _ in USE_COLUMNS}
    top = max(potential, made, sum(max(v, 0) for v in uses.values()), 1e-9)
    height, base, width = 200.0, 230.0, 90
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 520 270" width="100%" '
             'role="img" aria-label="methane from feedstock to uses">']

    def bar(x: float, y0: float, value: float, colour: str, label: str) -> float:
        h = height * max(value, 0) / top
        parts.append(f'<rect x="{x}" y="{y0 - h:.1f}" width="{width}" height="{h:.1f}" '
                     f'fill="{colour}"><title>{escape(label)}: {value:.1f} m3 CH4</title></rect>')
        return y0 - h

    bar(20, base, potential, "#744210", "methane potential")
    bar(170, base, made, "#975a16", "methane made")
    y = base
    for key, label, colour in USE_COLUMNS:
        before = y
        y = bar(320, y, uses[key], colour, label)
        if before - y > 12:
            parts.append(f'<text x="{420}" y="{(before + y) / 2 + 4:.1f}" font-size="11">'
                         f'{label} {uses[key]:.0f}</text>')
    for x, text in ((20, f"potential {potential:.0f}"), (170, f"made {made:.0f}"),
                    (320, "uses")):
        parts.append(f'<text x="{x}" y="{base + 18}" font-size="12">{escape(text)}</text>')
    parts.append(f'<text x="20" y="262" font-size="11">m3 CH4 in {escape(account["month"])}'
                 f'</text></svg>')
    return "".join(parts)


def _claims_svg(monthly: list[dict[str, Any]]) -> str:
    """Month-by-month bars of each claim [kgCO2e]; a missing bar is a claim that does not
    apply."""
    names = list(CLAIM_LABELS)
    colours = ("#2f855a", "#2b6cb0", "#d69e2e")
    top = max([abs(m.get(n) or 0.0) for m in monthly for n in names] + [1e-9])
    slot = 480 / max(len(monthly), 1)
    bar_w = slot / (len(names) + 1)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 520 250" width="100%" '
             'role="img" aria-label="claims by month">']
    for i, m in enumerate(monthly):
        for k, (name, colour) in enumerate(zip(names, colours, strict=True)):
            value = m.get(name)
            if value is None:
                continue
            h = 180 * max(value, 0) / top
            x = 30 + i * slot + k * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{200 - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{escape(m["month"])} '
                         f'{CLAIM_LABELS[name]}: {value:.0f} kgCO2e</title></rect>')
        parts.append(f'<text x="{30 + i * slot:.1f}" y="215" font-size="9">'
                     f'{escape(m["month"][2:])}</text>')
    for k, (name, colour) in enumerate(zip(names, colours, strict=True)):
        parts.append(f'<rect x="{30 + k * 165}" y="230" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{44 + k * 165}" y="239" font-size="10">{CLAIM_LABELS[name]}'
                     f'</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return f"{value:,.1f}"
    return escape(str(value))


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def to_html(account: dict[str, Any], monthly: list[dict[str, Any]]) -> str:
    """A self-contained page (no external assets) that prints on A4."""
    claims = "".join(
        f"<tr><td>{CLAIM_LABELS[name]}</td><td>{escape(c['status'])}</td>"
        f"<td class=n>{_fmt(c.get('kgco2e')) if c['status'] == 'claimed' else '—'}</td>"
        f"<td>{escape(c.get('reason', c['equation']))}</td></tr>"
        for name, c in account["claims"].items())
    factors = "".join(
        f"<tr><td>{CLAIM_LABELS[name]}</td><td>{escape(key)}</td>"
        f"<td class=n>{f['value']:g}</td><td>{escape(f['unit'])}</td>"
        f"<td>{escape(f['source'])}, {escape(f['where'])}</td></tr>"
        for name, c in account["claims"].items() for key, f in c.get("factors", {}).items())
    gas = ""
    for d in account["digesters"]:
        b = d["balance"]
        gas += (f"<h3>{escape(d['digester'])}</h3><table><tr><th>quantity</th><th>m3</th></tr>"
                + "".join(f"<tr><td>{escape(k)}</td><td class=n>{_fmt(v)}</td></tr>"
                          for k, v in b.items() if k.endswith("_m3"))
                + f"</table><p class={'ok' if b['closes'] else 'warn'}>{escape(b['message'])}"
                  f"</p><p>Realised efficiency: {_share(d['realised_efficiency_pu'])} of the "
                  f"methane potential; metered gas {_fmt(d['plan_vs_actual']['metered_biogas_m3'])}"
                  f" m3 against {_fmt(d['plan_vs_actual']['planned_biogas_m3'])} m3 planned.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Waste ledger {escape(account['site'])} {escape(account['month'])}</title>
<style>
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: sans-serif; font-size: 11pt; max-width: 180mm; margin: auto; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 4mm; }}
td, th {{ border-bottom: 1px solid #ccc; padding: 2px 4px; text-align: left; }}
td.n {{ text-align: right; }} .warn {{ color: #c53030; }} .ok {{ color: #2f855a; }}
figure {{ margin: 0; page-break-inside: avoid; }}
</style></head><body>
<h1>Waste ledger — {escape(account['site'])}, {escape(account['month'])}</h1>
<p>{escape(account.get('county') or '')} {escape(account.get('township') or '')}</p>
<h2>Feedstock to gas to uses</h2><figure>{_flow_svg(account)}</figure>
{gas}
<h2>Claims (kept apart, never added together)</h2>
<table><tr><th>claim</th><th>status</th><th>kgCO2e</th><th>equation or reason</th></tr>
{claims}</table>
<figure>{_claims_svg(monthly)}</figure>
<p>Energy-system emission (leaked methane): {_fmt(account['energy_system_kgco2e'])} kgCO2e.</p>
<h2>Factors</h2>
<table><tr><th>claim</th><th>factor</th><th>value</th><th>unit</th><th>source</th></tr>
{factors}</table>
</body></html>
"""
