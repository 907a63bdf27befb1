"""The ledger's HTML report prints on A4 in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from optimizer.ledger.account import claims_by_month, monthly_account
from optimizer.ledger.report import to_html
from tests.optimizer.ledger.worked_example import farm, month

#: A4 in PostScript points (210 × 297 mm).
A4_PT = (595.3, 841.9)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (CI=true: .ci/run installs it)")
        pytest.skip("chromium is not installed")
    return found


def test_the_report_prints_on_a4_pages(tmp_path):
    browser = chromium()
    account = monthly_account(farm(), month(), "2026-04")
    page = tmp_path / "ledger.html"
    page.write_text(to_html(account, claims_by_month(farm(), month(), "2026-04", 6)))
    pdf = tmp_path / "ledger.pdf"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        check=True, timeout=120, capture_output=True)
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes, "no page in the PDF"
    for width, height in boxes:
        assert float(width) == pytest.approx(A4_PT[0], abs=1.5)
        assert float(height) == pytest.approx(A4_PT[1], abs=1.5)
    assert len(boxes) <= 3
