"""``villagegrid bridge modbus``: run the Modbus bridge of one site beside its controller."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bridge", help="turn dispatch into Modbus register writes on site")
    kinds = p.add_subparsers(dest="bridge", metavar="KIND", required=True)
    m = kinds.add_parser("modbus", help="poll dispatch, write Modbus TCP devices, post "
                                        "telemetry (register map: the site file's modbus:)")
    m.add_argument("--site", required=True, help="the site's name")
    m.add_argument("--site-file", required=True,
                   help="the site file whose modbus: section maps setpoints to registers")
    m.add_argument("--url", required=True, help="the plan service, e.g. http://10.0.0.5:8000")
    m.add_argument("--key", default=os.environ.get("VILLAGEGRID_BRIDGE_KEY"),
                   help="the site's controller key [env VILLAGEGRID_BRIDGE_KEY]")
    m.add_argument("--once", action="store_true", help="one cycle, then exit")
    m.add_argument("--log-level", default="info", choices=("error", "warning", "info", "debug"))
    m.set_defaults(func=run)


def _bad(message: str) -> int:
    print(f"villagegrid bridge modbus: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    import logging
    import threading
    from datetime import UTC, datetime

    import httpx

    from api.bridge.modbus import Bridge
    from api.commands import load_site_or_fail

    url = urlparse(args.url)
    if url.scheme not in ("http", "https") or not url.netloc:
        return _bad(f"--url: must be an http(s) URL such as http://host:8000, got {args.url!r}")
    if not args.key:
        return _bad("--key: the site's controller key is required (or VILLAGEGRID_BRIDGE_KEY)")
    site = load_site_or_fail(args.site_file)
    if site.name != args.site:
        return _bad(f"--site-file: describes site {site.name!r}, not --site {args.site!r}")
    if site.modbus is None:
        return _bad(f"--site-file: {args.site_file} has no modbus: section (docs/api.md, "
                    "'Modbus bridge')")
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    http = httpx.Client(base_url=args.url, timeout=10,
                        headers={"Authorization": f"Bearer {args.key}"})
    bridge = Bridge(site, http)
    stop = threading.Event()
    try:
        if args.once:
            bridge.step(datetime.now(UTC))
        else:
            bridge.run(lambda: datetime.now(UTC), stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        bridge.close()
        http.close()
    return 0
