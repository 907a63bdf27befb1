"""Page weight and server time of the pages for people, against a real server on loopback.

Starts ``villagegrid serve`` on 127.0.0.1 with a fresh SQLite file, registers the demo
village, makes today's plan in cost mode and then in carbon mode, logs in with a manager key,
then requests each page ``--repeat`` times in English and in Chinese. Prints, per page, the
bytes of the answer (HTML with its inline stylesheet and chart: there is nothing else to
load) and the time from request to the last byte (median and 90th percentile), which on
loopback is the server's time. The aim (issue 13): under 200 KB and under 100 ms a page.

    python bench/pages_speed.py [--repeat 30] [--port 8731]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.services.keys import create_key  # noqa: E402
from api.store import Store  # noqa: E402
from sites.load import load_site  # noqa: E402

SITE = "demo-village"
PAGES = {"sites": "/", "day": f"/sites/{SITE}", "words": f"/sites/{SITE}/words",
         "compare": f"/sites/{SITE}/compare", "login": "/login"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="vg-pages-"))
    url = f"sqlite:///{workdir / 'villagegrid.db'}"
    now = datetime.now(UTC)
    store = Store(url)
    token = create_key(store, "manager", None, now)[1]
    store.dispose()
    env = {**os.environ, "VILLAGEGRID_DATABASE_URL": url, "VILLAGEGRID_PLAN_POOL": "thread",
           "VILLAGEGRID_SCHEDULER_ENABLED": "false"}
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port",
                               str(args.port), "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        client = httpx.Client(base_url=base, timeout=120)
        for _ in range(300):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        auth = {"Authorization": f"Bearer {token}"}
        demo = ROOT / "sites" / "demo_village.yaml"
        client.post("/v1/sites", content=demo.read_text(),
                    headers={**auth, "Content-Type": "application/yaml"}).raise_for_status()
        today = now.astimezone(load_site(demo).tz).date().isoformat()
        for mode in ("cost", "carbon"):
            client.post(f"/v1/sites/{SITE}/plans", json={"date": today, "mode": mode},
                        headers=auth).raise_for_status()
        client.post("/login", content=f"key={token}",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        print(f"{'page':<9}{'lang':<6}{'KB':>8}{'median ms':>12}{'p90 ms':>9}")
        for lang in ("en", "zh"):
            for name, path in PAGES.items():
                times, size = [], 0
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    r = client.get(path, headers={"Accept-Language": lang})
                    times.append((time.perf_counter() - t0) * 1000)
                    size = len(r.content)
                    r.raise_for_status()
                times.sort()
                p90 = times[int(0.9 * (len(times) - 1))]
                print(f"{name:<9}{lang:<6}{size / 1024:>8.1f}{statistics.median(times):>12.1f}"
                      f"{p90:>9.1f}")
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
