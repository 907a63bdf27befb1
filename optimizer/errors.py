"""Errors raised while planning."""

from __future__ import annotations


class PlanningError(ValueError):
    """A plan cannot be made from these inputs; the message names the field and the value."""


class InfeasibleError(PlanningError):
    """The site's parameters contradict one another; the message names the conflicting ones.

    Attributes
    ----------
    conflicts : list of str
        One line per conflict found, each naming the device parameters involved.
    """

    def __init__(self, message: str, conflicts: list[str] | None = None):
        self.conflicts = list(conflicts or [])
        super().__init__(message)
