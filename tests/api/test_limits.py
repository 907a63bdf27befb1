"""Malformed and oversized requests get 4xx, never 5xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.api.conftest import SITE, Api


@pytest.fixture
def small(make_api: Callable[..., Api]) -> Api:
    return make_api(max_body_bytes=4096)


def test_oversized_bodies_get_413(small: Api) -> None:
    big = "x" * 5000
    r = small.client.post(
        "/v1/sites", content=big, headers={**small.auth(), "Content-Type": "application/yaml"}
    )
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b"y" * 1000

    r = small.client.post(
        "/v1/sites", content=chunks(), headers={**small.auth(), "Content-Type": "application/yaml"}
    )
    assert r.status_code == 413
    r = small.client.post(
        f"/v1/sites/{SITE}/plans",
        content=b"[" * 5000,
        headers={**small.auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 413


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"{", "application/json"),
        (b"[1, 2", "application/json"),
        (b"\xff\xfe\x00", "application/yaml"),
        (b"name: [unclosed", "application/yaml"),
        (b"- a\n- b\n", "application/yaml"),
        (b"null", "application/json"),
        (b"[" * 2000 + b"]" * 2000, "application/json"),
        (b"a: &a [*a]", "application/yaml"),
    ],
)
def test_malformed_site_bodies_get_422(api: Api, body: bytes, content_type: str) -> None:
    r = api.client.post(
        "/v1/sites", content=body, headers={**api.auth(), "Content-Type": content_type}
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"]


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"date": "not-a-date"}',
        b'{"date": "2026-07-01", "days": 99}',
        b'{"horizon_hours": 1e400}',
        b'{"horizon_hours": -1}',
        b'{"date": "2026-07-01", "x": 1}',
        b'{"date": "2026-07-01", "overrides": {"grid.import_price_per_kwh": ["NaN"]}}',
        b'{"date": "9999-12-31"}',
        b'{"date": "0001-01-01"}',
        b'{"horizon_hours": 5, "start": "9999-12-31T23:00:00+00:00"}',
    ],
)
def test_malformed_plan_requests_get_422(api: Api, body: bytes) -> None:
    api.put_site()
    r = api.client.post(
        f"/v1/sites/{SITE}/plans",
        content=body,
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text


def test_bad_content_length_gets_400(api: Api) -> None:
    r = api.client.post(
        "/v1/sites",
        content=b"{}",
        headers={**api.auth(), "Content-Type": "application/json", "Content-Length": "abc"},
    )
    assert r.status_code == 400
