"""The ``villagegrid`` command line.

Each command lives in its own module that exposes ``register(subparsers)``; registering must
stay cheap (heavy libraries are imported inside the command's ``run``), so ``--help`` is fast.
Exit codes: 0 success, 2 bad input (a site or file that does not validate), 1 other failures.
Every error is printed as ``villagegrid COMMAND: message``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from api.commands import CommandError, report

COMMAND_MODULES = (
    "api.commands.validate",
    "api.commands.plan",
    "api.commands.demo",
    "api.commands.forecast",
    "api.commands.accuracy",
    "api.commands.serve",
    "api.commands.keys",
    "api.commands.simulate",
    "api.commands.size",
    "api.commands.ledger",
    "api.commands.readings",
    "api.commands.fleet",
    "api.commands.bridge",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="villagegrid",
        description="Plan BIPV, batteries, biogas, gensets, loads and the grid of a village.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        report(args.command, str(exc))
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
