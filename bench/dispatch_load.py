"""Dispatch throughput and tail latency at 1, 16 and 64 concurrent controllers, alone and
while plans are being solved.

Starts one ``villagegrid serve`` on loopback with a fresh SQLite file (as
``bench/api_load.py`` does, whose client it reuses), registers ``--sites`` sites with a plan
each, and polls their dispatch back to back from a separate process. The "while solving" runs
keep a manager posting plan requests for another site the whole time, so solves compete with
polls for the two cores.

    python bench/dispatch_load.py [--sites 10] [--seconds 5] [--clients 1,16,64]

Prints one line per run: polls/s, p50, p99 and errors.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_load import (  # noqa: E402
    HOST,
    free_port,
    make_keys,
    poll,
    prepare,
    start_server,
    wait_ready,
)


def solve_loop(base: str, manager: str, site: str, stop: threading.Event, made: list[int]
               ) -> None:
    """Post plan requests for ``site`` one after another until ``stop`` is set."""
    day = datetime.now(UTC).date().isoformat()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {manager}"},
                      timeout=300) as client:
        while not stop.is_set():
            if client.post(f"/v1/sites/{site}/plans", json={"date": day}).status_code == 201:
                made[0] += 1


def run(port: int, jobs: list[tuple[str, str]], clients: int, seconds: float
        ) -> tuple[float, list[float], list[str]]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=poll, args=(port, jobs, clients, 10**9, seconds, False, 0.0,
                                          results))
    proc.start()
    out = results.get(timeout=seconds + 120)
    proc.join()
    return out  # type: ignore[no-any-return]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sites", type=int, default=10)
    p.add_argument("--seconds", type=float, default=5.0, help="polling time of each run")
    p.add_argument("--clients", default="1,16,64", help="concurrent connections per run")
    args = p.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        names = [f"bench-village-{i:03d}" for i in range(args.sites)]
        manager, jobs = make_keys(db_url, names)
        port = free_port()
        server = start_server(db_url, port, 1)
        failed = False
        try:
            base = f"http://{HOST}:{port}"
            wait_ready(base)
            prepare(base, manager, [*names, "bench-solver"])
            for path, token in jobs:
                httpx.get(base + path, headers={"Authorization": f"Bearer {token}"},
                          timeout=120).raise_for_status()
            for solving in (False, True):
                for clients in counts:
                    stop, made = threading.Event(), [0]
                    solver = threading.Thread(
                        target=solve_loop, args=(base, manager, "bench-solver", stop, made))
                    if solving:
                        solver.start()
                    elapsed, latencies, errors = run(port, jobs, clients, args.seconds)
                    stop.set()
                    if solving:
                        solver.join()
                    q = statistics.quantiles(latencies, n=100)
                    failed |= bool(errors)
                    print(f"{clients:3d} clients, {'while solving' if solving else 'alone':13}: "
                          f"{len(latencies) / elapsed:7,.0f} polls/s, p50 {q[49] * 1e3:6.2f} ms, "
                          f"p99 {q[98] * 1e3:6.2f} ms, errors {len(errors)}"
                          + (f", plans solved {made[0]}" if solving else ""), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
