"""Errors of the service layer; the app maps each class to one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    """Base class; ``status_code`` is the HTTP status the app answers with."""

    status_code = 500
    #: seconds a client should wait before retrying (``Retry-After``), if any
    retry_after_s: int | None = None

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


class NotFound(ServiceError):
    status_code = 404


class Invalid(ServiceError):
    """Input that does not validate; ``errors`` names each field and what was expected."""

    status_code = 422


class Busy(ServiceError):
    """Every solve slot and queue place is taken; retry later."""

    status_code = 503
    retry_after_s = 30


class Unavailable(ServiceError):
    """The database (or another part the answer needs) does not answer; retry shortly."""

    status_code = 503
    retry_after_s = 5


class Insufficient(ServiceError):
    """The database cannot store more (a full disk); nothing was written."""

    status_code = 507
    retry_after_s = 60


class Limited(ServiceError):
    """A limit of the calling key (or its site) was reached; retry after ``retry_after_s``."""

    status_code = 429

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


class SolveFailed(ServiceError):
    """A solve that failed or timed out; the current plan was left in place."""

    def __init__(self, message: str, status_code: int = 422):
        super().__init__(message)
        self.status_code = status_code
        if status_code >= 500:
            self.retry_after_s = 30


def validation_lines(errors: Sequence[Any]) -> list[str]:
    """``where.field: what was expected`` for each error (the bad input is not echoed: it
    may be huge or not representable in JSON, like an infinite float)."""
    lines = []
    for err in errors:
        where = ".".join(str(part) for part in err.get("loc", ()))
        lines.append(f"{where}: {err.get('msg', 'invalid')}")
    return lines
