"""CLI commands, one module each (see ``api.cli``)."""

from __future__ import annotations

import sys
from typing import Any


def load_site_or_report(path: str) -> Any:
    """The site of a file, or None after printing every problem with it to stderr."""
    from sites.load import SiteError, load_site

    try:
        return load_site(path)
    except SiteError as exc:
        print(f"{exc.source}: {len(exc.errors)} error(s)", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return None
