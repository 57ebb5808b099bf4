"""Time from the first call to the error, for state stores whose server cannot be reached.

    .venv/bin/python benchmarks/state_unreachable.py            # 3 runs of each case
    .venv/bin/python benchmarks/state_unreachable.py --runs 5

Cases: PostgreSQL with a database that does not exist (the server at
AGENTRIG_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test, asked for
``nosuchdb``), PostgreSQL on port 1 and Redis on port 1 (nothing listens there: refused). Each
run opens a fresh store, times one ``load``, and prints the median with the error it raised.
Before issue #11 the PostgreSQL cases took 30 s each (the pool's retry window) and ended in
``PoolTimeout: pool initialization incomplete``; Redis raised redis-py's ``ConnectionError``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.table import Table

from agentrig.core.state import open_state_store

POSTGRES_URL = os.environ.get(
    "AGENTRIG_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AGENTRIG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def _replace(url: str, *, port: int | None = None, path: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if port is None else f"{parts.netloc.rpartition(':')[0]}:{port}"
    return urlunsplit((parts.scheme, netloc, path or parts.path, parts.query, ""))


CASES = {
    "postgres, no such database": _replace(POSTGRES_URL, path="/nosuchdb"),
    "postgres, port 1 (refused)": _replace(POSTGRES_URL, port=1),
    "redis, port 1 (refused)": _replace(REDIS_URL, port=1),
}


async def time_to_error(url: str) -> tuple[float, str]:
    store = open_state_store(url)
    start = time.perf_counter()
    try:
        await store.load("runs/bench/plant")
    except Exception as error:  # noqa: BLE001 -- the error is the measurement
        return time.perf_counter() - start, f"{type(error).__name__}: {error}"
    finally:
        await store.close()
    return time.perf_counter() - start, "no error: is something listening there?"


async def run(runs: int) -> Table:
    table = Table(title="state store: time to the error when the server cannot be reached")
    for column in ("case", "median s", "max s", "error"):
        table.add_column(column, overflow="fold")
    for name, url in CASES.items():
        timings: list[float] = []
        message = ""
        for _ in range(runs):
            elapsed, message = await time_to_error(url)
            timings.append(elapsed)
        table.add_row(name, f"{statistics.median(timings):.3f}", f"{max(timings):.3f}", message)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median reported)")
    arguments = parser.parse_args()
    Console(width=160).print(asyncio.run(run(arguments.runs)))


if __name__ == "__main__":
    main()
