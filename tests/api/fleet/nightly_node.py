"""One service process of the two-process test (run as ``python -m``).

It builds the service on a database, waits until every process of the test is ready (a file
each in a folder), runs the nightly job of each site named, and prints as JSON its name and
the plan id each job returned (null: not planned here).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from api.services.container import build_services
from api.settings import Settings

#: How long a process waits for the others to be ready [s].
READY_WAIT_S = 120.0


def main(argv: list[str]) -> int:
    url, now_iso, barrier, processes, *sites = argv
    now = datetime.fromisoformat(now_iso)
    settings = Settings(database_url=url, scheduler_enabled=False, plan_pool="thread",
                        plan_workers=1)
    services = build_services(settings, clock=lambda: now)
    try:
        folder = Path(barrier)
        (folder / f"ready-{os.getpid()}").touch()
        waited = time.monotonic() + READY_WAIT_S
        while len(list(folder.glob("ready-*"))) < int(processes) and time.monotonic() < waited:
            time.sleep(0.01)
        made = {site: (services.auto.run_site(site) or {}).get("plan_id") for site in sites}
    finally:
        services.close()
    print(json.dumps({"name": services.auto.name, "planned": made}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
