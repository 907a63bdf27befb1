"""``villagegrid ledger`` on the bundled demo month, and its refusals (exit 2, named)."""

from __future__ import annotations

import json
from pathlib import Path

from api.cli import main

SITES = Path(__file__).resolve().parents[3] / "sites"
DEMO = str(SITES / "demo_village.yaml")
MONTH = (SITES / "readings" / "demo_village_2026-11.csv").read_text()


def test_ledger_of_the_bundled_month(tmp_path, capsys):
    assert main(["ledger", DEMO, "--month", "2026-11", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for claim in ("avoided_manure_methane", "displaced_electricity", "displaced_cooking_fuel"):
        assert f"  {claim}: " in out
    account = json.loads((tmp_path / "demo-village-ledger-2026-11.json").read_text())
    assert account["closes"] is True
    assert (tmp_path / "demo-village-ledger-2026-11.html").read_text().count("<svg") == 2
    assert (tmp_path / "demo-village-ledger-2026-11.csv").read_text().startswith("section,")


def test_bad_input_exits_2_naming_it(tmp_path, capsys):
    assert main(["ledger", DEMO, "--month", "2026-13", "--out", str(tmp_path)]) == 2
    assert "--month" in capsys.readouterr().err
    lines = MONTH.splitlines()
    broken = [lines[0]] + [
        line.replace(",15230.0,", ",99999.0,") for line in lines[1:]]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(broken) + "\n")
    assert main(["ledger", DEMO, "--month", "2026-11", "--readings", str(bad),
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "negative meter delta" in err and "Traceback" not in err
    assert main(["ledger", DEMO, "--month", "2026-11", "--readings", str(tmp_path / "none.csv"),
                 "--out", str(tmp_path)]) == 2
    assert "--readings: cannot read" in capsys.readouterr().err
    hamlet = str(SITES / "mountain_hamlet.yaml")
    assert main(["ledger", hamlet, "--month", "2026-11", "--out", str(tmp_path)]) == 2
    assert "ledger:" in capsys.readouterr().err


def test_readings_go_into_the_database_and_the_ledger_reads_them(tmp_path, capsys):
    db = ["--database-url", f"sqlite:///{tmp_path / 'vg.db'}"]
    csv = str(SITES / "readings" / "demo_village_2026-11.csv")
    assert main(["readings", *db, "import", "demo-village", csv]) == 2
    assert "demo-village" in capsys.readouterr().err  # not registered yet
    assert main(["readings", *db, "import", "demo-village", csv, "--site-file", DEMO]) == 0
    assert "stored 224 reading(s), 0 already stored" in capsys.readouterr().out
    assert main(["readings", *db, "import", "demo-village", csv]) == 0
    assert "stored 0 reading(s), 224 already stored" in capsys.readouterr().out
    assert main(["readings", *db, "list", "demo-village", "--kind", "gas_produced"]) == 0
    first = capsys.readouterr().out.splitlines()[0].split("\t")[0]
    assert main(["readings", *db, "correct", "demo-village", first, "--value", "99999",
                 "--reason", "typo"]) == 2
    assert "negative meter delta" in capsys.readouterr().err
    assert main(["ledger", DEMO, "--month", "2026-11", "--from-db", *db,
                 "--out", str(tmp_path)]) == 0
    from_db = json.loads((tmp_path / "demo-village-ledger-2026-11.json").read_text())
    assert main(["ledger", DEMO, "--month", "2026-11", "--out", str(tmp_path / "f")]) == 0
    from_file = json.loads((tmp_path / "f" / "demo-village-ledger-2026-11.json").read_text())
    assert from_db["claims"] == from_file["claims"]
