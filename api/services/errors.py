"""Errors of the service layer; the app maps each class to one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    """Base class; ``status_code`` is the HTTP status the app answers with."""

    status_code = 500

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class NotFound(ServiceError):
    status_code = 404


class Invalid(ServiceError):
    """Input that does not validate; ``errors`` names each field and what was expected."""

    status_code = 422


class Busy(ServiceError):
    """Every solve slot and queue place is taken; retry later."""

    status_code = 503


class SolveFailed(ServiceError):
    """A solve that failed or timed out; the current plan was left in place."""

    def __init__(self, message: str, status_code: int = 422):
        super().__init__(message)
        self.status_code = status_code


def validation_lines(errors: Sequence[Any]) -> list[str]:
    """``where.field: what was expected`` for each error (the bad input is not echoed: it
    may be huge or not representable in JSON, like an infinite float)."""
    lines = []
    for err in errors:
        where = ".".join(str(part) for part in err.get("loc", ()))
        lines.append(f"{where}: {err.get('msg', 'invalid')}")
    return lines
