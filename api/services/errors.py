"""Errors of the service layer; the app maps each class to one HTTP status."""

from __future__ import annotations


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
