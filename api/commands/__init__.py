"""CLI commands, one module each (see ``api.cli``), and the checks they share.

Every problem a command reports is one message in one format, ``villagegrid COMMAND:
message`` on stderr: a command raises :class:`CommandError` and :func:`api.cli.main` prints
it and exits with its code (2 for bad input).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

#: Calendar years a study or a plan may fall in: from 1970 every time zone has its modern
#: offsets (earlier, some have a local mean time such as +08:05:43 in Asia/Shanghai), and
#: pandas represents times only up to 2262-04-11.
FIRST_YEAR, LAST_YEAR = 1970, 2261


class CommandError(Exception):
    """Bad input to a command (a file, a date, an option): printed as one message.

    ``code`` is the exit code: 2 for bad input (the default), 1 for other failures.
    """

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def report(command: str, message: str) -> None:
    """Print ``villagegrid COMMAND: message`` to stderr."""
    print(f"villagegrid {command}: {message}", file=sys.stderr)


def site_error_text(exc: Any) -> str:
    """A SiteError as a headline and one indented line per problem."""
    return f"{exc.source}: {len(exc.errors)} error(s)" + "".join(
        f"\n  {line}" for line in exc.errors
    )


def load_site_or_fail(path: str) -> Any:
    """The site of a file; every problem with it raises one CommandError."""
    from sites.load import SiteError, load_site

    try:
        return load_site(path)
    except SiteError as exc:
        raise CommandError(site_error_text(exc)) from None


def check_year(year: int, option: str = "--year") -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CommandError(
            f"{option} must be a calendar year from {FIRST_YEAR} to {LAST_YEAR}, got {year}"
        )
    return year


def check_day(day: date, option: str = "--date") -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CommandError(f"{option} must lie in the years {FIRST_YEAR} to {LAST_YEAR}, "
                           f"got {day.isoformat()}")
    return day


def check_writable(option: str, value: str | None, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, an output path that cannot be written: a wrong suffix, a
    missing or read-only folder. With ``suffixes`` it is a file, else a folder (made later)."""
    if value is None:
        return
    path = Path(value)
    if suffixes and path.suffix.lower() not in suffixes:
        raise CommandError(f"{option} must end in {' or '.join(suffixes)}, got {value!r}")
    if not suffixes and path.exists() and not path.is_dir():
        raise CommandError(f"{option}: {value!r} exists and is not a folder")
    parent = path.resolve().parent if suffixes else path.resolve()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"{option}: cannot write into {str(parent)!r}")
    if suffixes and not Path(value).resolve().parent.is_dir():
        raise CommandError(f"{option}: no directory {str(path.parent)!r} to write into")
