"""The hot path of dispatch polling, in front of the FastAPI app.

A controller's ``GET /v1/sites/{site}/dispatch`` (without ``at``) whose key and answer are
already in this process's memory is answered here, without FastAPI's routing and parameter
machinery; it costs a regular expression, the key lookup, a read of the site's dispatch
snapshot and the send. Everything else — an unknown, expired or revoked key, a wrong site,
an answer that needs the database, a header the route refuses, any other request — goes to
the app unchanged, which gives the same answer (the same
:func:`api.services.dispatch.conditional`) or the proper error. The bearer token is read by
the same parser as the routes' (:func:`api.services.keys.bearer_token`).
"""

from __future__ import annotations

import re
from typing import Any

from api.services.dispatch import IF_NONE_MATCH_MAX, CacheMiss, conditional
from api.services.errors import ServiceError
from api.services.keys import bearer_token, may_read_site

_DISPATCH = re.compile(r"/v1/sites/([a-z0-9][a-z0-9_\-]{0,63})/dispatch")


class DispatchFastPath:
    def __init__(self, app: Any, state: Any):
        self.app = app
        self.state = state  # the FastAPI app's state: services appear there on startup

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = _DISPATCH.fullmatch(scope["path"])
            served = self._serve(match.group(1), scope["headers"]) if match else None
            if served is not None:
                status, headers, body = served
                raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                if status == 200:
                    raw.append((b"content-type", b"application/json"))
                raw.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _serve(self, site: str, headers: list[tuple[bytes, bytes]]
               ) -> tuple[int, dict[str, str], bytes] | None:
        services = getattr(self.state, "services", None)
        if services is None:
            return None
        authorization = if_none_match = None
        for name, value in headers:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if if_none_match is not None and len(if_none_match) > IF_NONE_MATCH_MAX:
            return None  # the route refuses it with 422
        token = bearer_token(authorization)
        principal = services.keys.cached(token) if token is not None else None
        if principal is None or not may_read_site(principal, site):
            return None
        now = self.state.clock()
        try:
            found = services.dispatcher.cached_answer(site, now, now)
        except (CacheMiss, ServiceError):
            return None
        return conditional(found, now.timestamp(), services.settings.poll_interval_s,
                           if_none_match)
