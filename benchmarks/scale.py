"""Throughput of the run matrix: one process against Ray with one and two workers, in one run.

The reference model runs in its own process (``agentrig model serve --latency realistic``: about
0.4 s + 15 ms per output token a reply), so a run mostly waits on the model, as with a real one.
The matrix is plain, langchain, autogen, crewai x the scenario catalogue x 2 repeats; each
configuration is one ``agentrig compare`` process (``--state memory://``, so no store is the
bottleneck), run one after the other:

- **uncontended**: a sample of the matrix (every 4th scenario, 1 repeat; ``--quick``: its two
  scenarios) at concurrency 4 on the local executor: the mean run time when little competes;
- **local**, **ray x1**, **ray x2**: the whole matrix at ``--concurrency`` (default: every run at
  once, which saturates one process), on the local executor and on Ray with 1 and 2 workers;
- **local @32**: the local executor at concurrency 32.

Throughput is runs / the matrix span (first run start to last run end, from ``results.jsonl``:
start-up and imports excluded); its ideal is concurrency / the uncontended mean run time (capped
at the number of runs in a wave). ``e2e s`` is the whole command, start-up included.

Goals (issue 16): Ray x2 >= 1.8x the local executor; local @32 >= 50% of ideal.
Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/scale.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.results import RunResult, read_results
from agentrig.core.plant.scenarios import catalogue_ids

AGENTRIG = str(Path(sys.executable).with_name("agentrig"))
FRAMEWORKS = "plain,langchain,autogen,crewai"
QUICK_SCENARIOS = "closed-discharge-valve,breaker-trip-cooling-pump"


@dataclass
class Measured:
    name: str
    concurrency: int
    results: list[RunResult]
    e2e_seconds: float

    @property
    def span(self) -> float:
        start = min(r.started_at.timestamp() for r in self.results)
        end = max(r.started_at.timestamp() + r.wall_seconds for r in self.results)
        return end - start

    @property
    def throughput(self) -> float:
        return len(self.results) / self.span

    @property
    def mean_run_seconds(self) -> float:
        return statistics.fmean(r.wall_seconds for r in self.results)

    @property
    def passed(self) -> int:
        return sum(r.status == "passed" for r in self.results)


@contextlib.contextmanager
def model_server(latency: str, workdir: Path) -> Iterator[str]:
    """``agentrig model serve`` in its own process; yields the ``--model`` spec for it."""
    # Its output goes to a file: a pipe nobody reads fills up and blocks the server.
    log = workdir / "model-server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [AGENTRIG, "model", "serve", "--port", "0", "--latency", latency],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        found = None
        for _ in range(300):
            found = re.search(r"reference model on (http://\S+/v1)", log.read_text())
            if found or process.poll() is not None:
                break
            time.sleep(0.1)
        if not found:
            raise RuntimeError(f"the model server did not start: {log.read_text()[-2000:]}")
        yield f"{found.group(1)}#agentrig-operator"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_compare(
    name: str,
    workdir: Path,
    model: str,
    scenarios: str,
    repeats: int,
    concurrency: int,
    *extra: str,
) -> Measured:
    out = workdir / name.replace(" ", "-").replace("@", "c")
    command = [
        AGENTRIG, "compare", "-f", FRAMEWORKS, "-s", scenarios, "--repeats", str(repeats),
        "--model", model, "--state", "memory://", "--concurrency", str(concurrency),
        "--out", str(out), "--json", *extra,
    ]  # fmt: skip
    clock = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=workdir)
    e2e = time.perf_counter() - clock
    if done.returncode not in (0, 1):  # 1: a run errored, which the table shows
        raise RuntimeError(
            f"{name}: agentrig compare exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return Measured(name, concurrency, read_results(out), e2e)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="2 scenarios: a minute or two")
    parser.add_argument("--latency", default="realistic", help="the model's latency spec")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", type=int, help="default: every run of the matrix at once")
    args = parser.parse_args()
    disable_phone_home()
    scenarios = QUICK_SCENARIOS if args.quick else ",".join(catalogue_ids())
    # The uncontended mean comes from a sample of the mix (every 4th scenario, 1 repeat).
    sample = QUICK_SCENARIOS if args.quick else ",".join(catalogue_ids()[::4])
    runs = len(FRAMEWORKS.split(",")) * len(scenarios.split(",")) * args.repeats
    concurrency = args.concurrency or runs
    console = Console(width=150)
    console.print(
        f"{runs} runs ({FRAMEWORKS} x {len(scenarios.split(','))} scenarios x {args.repeats}), "
        f"model latency {args.latency}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="agentrig-scale-") as folder:
        workdir = Path(folder)
        with model_server(args.latency, workdir) as model:
            plan = [
                ("uncontended", 4, sample, 1, ()),
                ("local", concurrency, scenarios, args.repeats, ()),
                ("ray x1", concurrency, scenarios, args.repeats, ("--executor", "ray", "--workers", "1")),
                ("ray x2", concurrency, scenarios, args.repeats, ("--executor", "ray", "--workers", "2")),
                ("local @32", min(32, runs), scenarios, args.repeats, ()),
            ]  # fmt: skip
            measured: list[Measured] = []
            for name, at, selection, repeats, extra in plan:
                console.print(f"{name}: concurrency {at} ...")
                measured.append(run_compare(name, workdir, model, selection, repeats, at, *extra))
    uncontended = measured[0].mean_run_seconds
    local = measured[1]
    table = Table(title=f"agentrig compare throughput (uncontended run {uncontended:.1f} s)")
    for column in ("executor", "concurrency", "runs", "passed", "mean run s", "span s", "e2e s",
                   "runs/s", "ideal runs/s", "% of ideal", "x local"):  # fmt: skip
        table.add_column(column, justify="left" if column == "executor" else "right")
    for row in measured:
        ideal = min(row.concurrency, len(row.results)) / uncontended
        table.add_row(
            row.name,
            str(row.concurrency),
            str(len(row.results)),
            str(row.passed),
            f"{row.mean_run_seconds:.1f}",
            f"{row.span:.1f}",
            f"{row.e2e_seconds:.1f}",
            f"{row.throughput:.2f}",
            f"{ideal:.2f}",
            f"{row.throughput / ideal:.0%}",
            f"{row.throughput / local.throughput:.2f}"
            if row.name.startswith(("local", "ray"))
            else "",
        )
    console.print(table)
    by_name = {row.name: row for row in measured}
    ratio = by_name["ray x2"].throughput / local.throughput
    at32 = by_name["local @32"]
    ideal32 = min(at32.concurrency, len(at32.results)) / uncontended
    console.print(
        f"goal ray x2 >= 1.8x local: {ratio:.2f}x ({'met' if ratio >= 1.8 else 'not met'})"
    )
    share = at32.throughput / ideal32
    console.print(
        f"goal local @32 >= 50% of ideal: {share:.0%} ({'met' if share >= 0.5 else 'not met'})"
    )


if __name__ == "__main__":
    main()
