"""``villagegrid serve``: run the plan service with uvicorn."""

from __future__ import annotations

import argparse


def port_number(text: str) -> int:
    """A TCP port from 1 to 65535 (argparse type)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must lie in [1, 65535], got {port}")
    return port


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP plan service (settings: VILLAGEGRID_*)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    p.add_argument("--port", type=port_number, default=8000, help="port [8000]")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import get_settings

    uvicorn.run(create_app(get_settings()), host=args.host, port=args.port,
                log_level=args.log_level)
    return 0
