"""Replay of the traffic recorded against a real llama.cpp server (SmolLM2-135M-Instruct).

The cassettes under ``cassettes/http-127.0.0.1-8079-v1-smollm2/`` were recorded by ``make
interop INTEROP_ARGS=--update-cassettes`` (docs/interop.md): every adapter on two scenarios,
with a third party's ids, usage, finish reasons and errors. Replaying them runs the real
``agentrig compare`` with no server: each cell must end as it did live, with the attributed
reason, the server's own token counts, and spans, metrics and a report naming its model.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentrig.core.contract.registry import installed_adapter_names
from agentrig.core.contract.results import RunResult, read_results
from agentrig.core.llm.cassettes.settings import cassette_path
from agentrig.testing.interop import INTEROP_SCENARIOS, check_comparison, recorded_usage

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
MODEL = "http://127.0.0.1:8079/v1#smollm2"
SERVED_MODEL = "smollm2"  # what the server answered with (--model_alias)
FRAMEWORKS = [
    f for f in ("plain", "langchain", "autogen", "crewai") if f in installed_adapter_names()
]

# (status, error_category, a phrase the reason must contain) per framework, as recorded live.
EXPECTED: dict[str, tuple[str, str | None, str]] = {
    # A 135M model does not do the task: no tool calls, graded failed. The run itself works.
    "plain": ("failed", "agent", "graded failed"),
    "langchain": ("failed", "agent", "graded failed"),
    # The server fills the legacy `function_call` beside `tool_calls`; AutoGen refuses any reply
    # that has it, and has no setting to accept it.
    "autogen": ("error", "interop", "rejected the server's reply for its `function_call` field"),
    # CrewAI sends `content: null` beside `tool_calls`; the server's request schema wants a string
    # (and answers HTTP 500, which the client retries). CrewAI has no setting to send "".
    "crewai": ("error", "interop", "`content: null` beside `tool_calls`"),
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("interop-replay")
    command = [
        sys.executable, "-m", "agentrig.cli", "compare", "--model", MODEL,
        "-f", ",".join(FRAMEWORKS), "-s", ",".join(INTEROP_SCENARIOS),
        "--cassettes", str(CASSETTES), "--state", "memory://", "--concurrency", "1",
        "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return out


def _results(folder: Path) -> dict[tuple[str, str], RunResult]:
    return {(r.framework, r.scenario): r for r in read_results(folder)}


def test_every_cell_ends_as_it_did_against_the_live_server(replayed: Path) -> None:
    results = _results(replayed)
    assert set(results) == {(f, s) for f in FRAMEWORKS for s in INTEROP_SCENARIOS}
    for (framework, scenario), result in results.items():
        status, category, phrase = EXPECTED[framework]
        got = (result.status, result.error_category)
        assert got == (status, category), (framework, scenario, result.error_detail)
        assert phrase in (result.error_detail or ""), (framework, scenario, result.error_detail)


def test_the_replay_meets_every_interop_check(replayed: Path) -> None:
    assert check_comparison(replayed, CASSETTES, model="smollm2", served_model=SERVED_MODEL) == []


def test_the_token_columns_are_the_servers_own_usage(replayed: Path) -> None:
    for (framework, scenario), result in _results(replayed).items():
        path = cassette_path(CASSETTES, MODEL, framework, scenario)
        replies, prompt, completion = recorded_usage(path)
        assert (result.input_tokens, result.output_tokens) == (prompt, completion)
        if replies:
            assert prompt > 0


def test_the_checks_catch_wrong_tokens_a_multi_line_reason_and_an_unnamed_field(
    replayed: Path, tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "tampered"
    shutil.copytree(replayed, folder)
    results = read_results(folder)
    tampered = []
    for result in results:
        if (result.framework, result.scenario) == ("plain", INTEROP_SCENARIOS[0]):
            result = result.model_copy(update={"input_tokens": result.input_tokens + 1})
        if result.framework == "autogen" and result.scenario == INTEROP_SCENARIOS[0]:
            result = result.model_copy(update={"error_detail": "AutoGen rejected the reply"})
        if result.framework == "crewai" and result.scenario == INTEROP_SCENARIOS[0]:
            result = result.model_copy(update={"error_detail": "line one\nline two `content`"})
        if result.framework == "langchain" and result.scenario == INTEROP_SCENARIOS[1]:
            # What a server that crashed mid-run leaves: every call refused at the socket.
            result = result.model_copy(
                update={
                    "status": "error",
                    "error_category": "model_fault",
                    "fault": "unreachable",
                    "error_detail": "LangChain stopped after its retries: the server went away",
                }
            )
        tampered.append(result.model_dump_json())
    (folder / "results.jsonl").write_text("\n".join(tampered) + "\n", encoding="utf-8")

    problems = check_comparison(folder, CASSETTES, model="smollm2", served_model=SERVED_MODEL)
    scenario = INTEROP_SCENARIOS[0]
    assert [p.split(":")[0] for p in problems] == [
        f"plain x {scenario}",
        f"autogen x {scenario}",
        f"crewai x {scenario}",
        f"langchain x {INTEROP_SCENARIOS[1]}",
    ]
    assert "the server reported" in problems[0]
    assert "names no field" in problems[1]
    assert "not one line" in problems[2]
    assert "the server stopped answering (unreachable)" in problems[3]
