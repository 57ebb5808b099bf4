"""What OTLP export costs a run, with a dead collector, and what a receiver counts (issue #11).

    .venv/bin/python benchmarks/otlp_export.py [--dead-collector] [--tokens] [--replay]

``--dead-collector`` (the default when neither is given): ``agentrig run -f plain`` and a 4-run
``agentrig compare`` (plain, 4 repeats, concurrency 4), each without and with
``--otlp-endpoint http://127.0.0.1:9`` (nothing listens there), as separate processes. Reported:
the process's wall time, each run's ``wall_seconds`` / ``llm_seconds`` from ``results.jsonl``, and
the WARNING lines on stderr.

``--tokens``: ``agentrig run --cassettes cassettes`` for every framework, exporting to an
in-process OTLP/HTTP receiver (``tests/core/telemetry/otlp_receiver.py``), whose per-run token
totals -- summed the way Arize Phoenix sums them -- are set against ``results.jsonl``; with the
count of received spans lacking ``agentrig.role``, and of agentrig's lacking a span kind.

Run from the repository root. ``--replay`` answers the dead-collector runs from the cassettes too
(default: the reference model, as the issue measured).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
DEAD = "http://127.0.0.1:9"
CLI = [sys.executable, "-c", "from agentrig.cli import main; main()"]


def _agentrig(args: list[str], workdir: Path) -> tuple[float, list[dict[str, Any]], list[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        [*CLI, *args], cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    elapsed = time.perf_counter() - started
    out = Path(args[args.index("--out") + 1])
    results_file = (workdir / out) / "results.jsonl"
    results = (
        [json.loads(line) for line in results_file.read_text().splitlines()]
        if results_file.exists()
        else []
    )
    warnings = [line for line in done.stderr.splitlines() if '"level": "warning"' in line]
    return elapsed, results, warnings


def dead_collector(replay: bool, console: Console) -> None:
    table = Table(title="a dead OTLP collector (--otlp-endpoint http://127.0.0.1:9)")
    for column in ("command", "endpoint", "process s", "wall_seconds", "llm_seconds", "warnings"):
        table.add_column(column)
    source = ["--cassettes", str(ROOT / "cassettes")] if replay else []
    commands = {
        "run -f plain": ["run", "-f", "plain", "-s", "blocked-discharge"],
        "compare (4 runs)": [
            "compare",
            "-f",
            "plain",
            "-s",
            "blocked-discharge",
            "--repeats",
            "4",
            "--concurrency",
            "4",
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for label, command in commands.items():
            for endpoint in ("", DEAD):
                out = f"out-{len(list(workdir.iterdir()))}"
                args = [*command, *source, "--state", f"sqlite:///{workdir}/state.db"]
                args += ["--out", out] + (["--otlp-endpoint", endpoint] if endpoint else [])
                elapsed, results, warnings = _agentrig(args, workdir)
                table.add_row(
                    label,
                    endpoint or "none",
                    f"{elapsed:.2f}",
                    " ".join(f"{r['wall_seconds']:.2f}" for r in results),
                    " ".join(f"{r['llm_seconds']:.2f}" for r in results),
                    str(len(warnings)),
                )
    console.print(table)


def tokens(console: Console) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.core.telemetry.otlp_receiver import OtlpReceiver, phoenix_token_totals

    table = Table(title="tokens: an OTLP receiver (summed as Phoenix does) against results.jsonl")
    columns = ("framework", "results.jsonl in/out", "receiver in/out", "equal", "spans")
    columns += ("without agentrig.role", "agentrig's without a kind")
    for column in columns:
        table.add_column(column)
    with tempfile.TemporaryDirectory() as tmp, OtlpReceiver() as receiver:
        workdir = Path(tmp)
        for framework in ("plain", "langchain", "autogen", "crewai"):
            args = ["run", "-f", framework, "-s", "blocked-discharge"]
            args += ["--cassettes", str(ROOT / "cassettes"), "--state", f"sqlite:///{tmp}/s.db"]
            args += ["--out", f"out-{framework}", "--otlp-endpoint", receiver.endpoint]
            _, results, _ = _agentrig(args, workdir)
            for result in results:
                expected = (result["input_tokens"], result["output_tokens"])
                spans = receiver.run_spans(result["run_id"])
                received = phoenix_token_totals(spans)
                table.add_row(
                    framework,
                    f"{expected[0]} / {expected[1]}",
                    f"{received[0]} / {received[1]}",
                    "yes" if received == expected else "NO",
                    str(len(spans)),
                    str(sum("agentrig.role" not in s.attributes for s in spans)),
                    str(
                        sum(
                            s.scope == "agentrig" and "openinference.span.kind" not in s.attributes
                            for s in spans
                        )
                    ),
                )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dead-collector", action="store_true")
    parser.add_argument("--tokens", action="store_true")
    parser.add_argument("--replay", action="store_true", help="dead-collector runs on cassettes")
    args = parser.parse_args()
    console = Console(width=140)
    if args.dead_collector or not args.tokens:
        dead_collector(args.replay, console)
    if args.tokens:
        tokens(console)


if __name__ == "__main__":
    main()
