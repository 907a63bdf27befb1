"""Every operation of the OpenAPI schema, fuzzed with schemathesis: no request gets a 5xx.

Key deletion is fuzzed too: half of its cases name a real key made for the case, never the
keys the fuzzer itself uses, which must still work at the end."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.services.keys import create_key
from api.store import Store
from tests.api.conftest import NOW, SITE, Api

EXAMPLES_PER_OPERATION = 25


def _printable(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isprintable()


def _send(api: Api, case, who: str):  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    assume(all(_printable(v) for v in headers.values()))
    kwargs: dict = {"params": case.query or None, "headers": {**headers, **api.auth(who)}}
    body = case.body
    if type(body).__name__ != "NotSet":
        if case.media_type == "application/json":
            kwargs["content"] = json.dumps(body).encode()
        else:
            kwargs["content"] = body.encode() if isinstance(body, str) else bytes(body)
        kwargs["headers"]["Content-Type"] = case.media_type
    return api.client.request(case.method, case.formatted_path, **kwargs)


def test_no_request_gets_a_5xx(api: Api) -> None:
    api.put_site()
    api.plan({"date": "2026-07-01"})
    schema = schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    assert ("DELETE", "/v1/keys/{key_id}") in {(op.method.upper(), op.path) for op in operations}
    store = Store(api.settings.database_url)
    failures = []
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=operation.as_strategy(),
            real_site=st.booleans(),
            who=st.sampled_from(["admin", "controller"]),
        )
        def fuzz(case, real_site: bool, who: str) -> None:  # type: ignore[no-untyped-def]
            if real_site and "site" in (case.path_parameters or {}):
                case.path_parameters["site"] = SITE
            if real_site and "key_id" in (case.path_parameters or {}):
                case.path_parameters["key_id"] = create_key(store, "manager", None, NOW)[0].key_id
            response = _send(api, case, who)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} "
                    f"{case.body!r:.300} -> {response.status_code} {response.text:.300}"
                )

        fuzz()
    store.dispose()
    assert api.client.get("/v1/keys", headers=api.auth("admin")).status_code == 200
    assert api.dispatch().status_code == 200
    if failures:
        pytest.fail(f"{len(failures)} request(s) got a 5xx:\n" + "\n".join(failures[:10]))
