"""Compare-and-set across processes: several OS processes increment one counter.

The in-process suite cannot show this: a per-process lock or the GIL could make it pass. Here
each writer is its own interpreter (``subprocess``), so only the file lock, SQLite's write lock,
the Redis script or the PostgreSQL row lock keep the count exact.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from agentrig.core.state import Versioned, open_state_store
from tests.conftest import REPO_ROOT

PROCESSES = 4
INCREMENTS = 25

# Each worker reports how many of its attempts lost a race, to prove that races happened.
WORKER = """
import asyncio, sys
from agentrig.core.state import open_state_store
from agentrig.exceptions import VersionConflict

async def main(url: str, increments: int) -> None:
    conflicts = 0
    async with open_state_store(url) as store:
        sys.stdout.write("ready\\n")
        sys.stdout.flush()
        sys.stdin.readline()  # start together
        for _ in range(increments):
            while True:
                current = await store.load("counter")
                count = current.state["count"] if current else 0
                try:
                    await store.save("counter", {"count": count + 1}, current.version if current else 0)
                    break
                except VersionConflict:
                    conflicts += 1
    print(conflicts)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.fixture(params=["file", "sqlite", "redis", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return f"file://{tmp_path / 'state'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(request.getfixturevalue("postgres_url"))


def run_workers(url: str) -> list[int]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(INCREMENTS)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "ready\n", worker.stderr
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (_, errors) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, errors
    return [int(out) for out, _ in outputs]


async def test_processes_incrementing_one_counter_end_at_the_exact_total(shared_url: str) -> None:
    conflicts = await asyncio.to_thread(run_workers, shared_url)
    total = PROCESSES * INCREMENTS
    async with open_state_store(shared_url) as store:
        assert await store.load("counter") == Versioned({"count": total}, total)
    assert sum(conflicts) > 0, "no process ever lost a race: the test proved nothing"
