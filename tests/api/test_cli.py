"""``villagegrid keys``: the printed token works against the service on the same database."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.cli import main
from tests.api.conftest import Api


def test_keys_create_prints_a_working_token(
    make_api: Callable[..., Api], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    api = make_api()
    assert main(["keys", "--database-url", db_url, "create", "--role", "manager"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("vg_")
    r = api.client.get("/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert main(["keys", "--database-url", db_url, "create", "--role", "controller"]) == 2
    assert "site" in capsys.readouterr().err
