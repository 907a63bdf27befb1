"""Revocation holds: a key revoked by ``villagegrid keys revoke`` or through another server
process stops working in every process, the dispatch fast path included, within the change
feed's poll interval — here with key answers otherwise trusted for an hour."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.cli import main
from api.services.keys import create_key
from api.store import Store
from tests.api.conftest import SITE, SITE_YAML
from tests.api.servers import start_servers

#: The bound documented in docs/api.md is the poll interval plus a request; the test waits
#: far longer so that a slow machine cannot fail it, and the key cache alone would hold the
#: key for an hour.
GENEROUS_S = 30.0


def _keys(db_url: str) -> dict[str, tuple[str, str]]:
    store = Store(db_url)
    now = datetime.now(UTC)
    try:
        made = {"manager": create_key(store, "manager", None, now),
                "admin": create_key(store, "admin", None, now),
                "cli": create_key(store, "controller", SITE, now),
                "http": create_key(store, "controller", SITE, now),
                "kept": create_key(store, "controller", SITE, now)}
    finally:
        store.dispose()
    return {who: (row.key_id, token) for who, (row, token) in made.items()}


def _poll(client: httpx.Client, token: str) -> int:
    return client.get(f"/v1/sites/{SITE}/dispatch",
                      headers={"Authorization": f"Bearer {token}"}).status_code


#: A refused key gets 401, or 429 once its address has failed too often.
REFUSED = {401, 429}


def _until_refused(clients: list[httpx.Client], token: str) -> set[int]:
    """Poll every process until each refuses the token; then the answers of 20 more polls
    of each."""
    deadline = time.monotonic() + GENEROUS_S
    while time.monotonic() < deadline:
        codes = [_poll(c, token) for c in clients]
        if set(codes) <= REFUSED:
            return {_poll(c, token) for c in clients for _ in range(20)}
        time.sleep(0.05)
    return set(codes)


def test_a_revoked_key_stops_reading_dispatch_in_every_process(db_url: str,
                                                               tmp_path: Path) -> None:
    keys = _keys(db_url)
    a, b = start_servers(db_url, tmp_path, 2, dispatch_cache_ttl_s=0.5, key_cache_ttl_s=3600)
    try:
        manager = {"Authorization": f"Bearer {keys['manager'][1]}"}
        r = a.client.post("/v1/sites", content=SITE_YAML,
                          headers={**manager, "Content-Type": "application/yaml"})
        assert r.status_code == 201, r.text
        today = datetime.now(UTC).date().isoformat()
        assert a.client.post(f"/v1/sites/{SITE}/plans", json={"date": today},
                             headers=manager).status_code == 201
        clients = [a.client, b.client]
        for who in ("cli", "http", "kept"):  # polling keeps every answer in memory
            assert [_poll(c, keys[who][1]) for c in clients for _ in range(5)] == [200] * 10

        # revoked by the CLI, on the database only: both processes must notice
        assert main(["keys", "--database-url", db_url, "revoke", keys["cli"][0]]) == 0
        assert _until_refused(clients, keys["cli"][1]) <= REFUSED
        # revoked through process A: B must notice
        admin = {"Authorization": f"Bearer {keys['admin'][1]}"}
        assert a.client.delete(f"/v1/keys/{keys['http'][0]}", headers=admin).status_code == 200
        assert _until_refused([b.client, a.client], keys["http"][1]) <= REFUSED
        # other keys keep working (this address has failed often: only known keys pass)
        assert [_poll(c, keys["kept"][1]) for c in clients] == [200, 200]
    finally:
        a.stop()
        b.stop()
