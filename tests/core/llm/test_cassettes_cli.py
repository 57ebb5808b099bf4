"""`agentrig record`, and `agentrig run` / `compare` with --replay / --cassettes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.contract.results import read_results
from agentrig.core.llm import endpoints
from agentrig.exceptions import ModelError

runner = CliRunner()
SCENARIO = "closed-discharge-valve"


def _refuse(**_: Any) -> None:
    raise ModelError("the reference model server is disabled in this test")


@pytest.mark.slow  # imports every adapter's framework
@pytest.mark.allow_model_requests
def test_record_then_run_and_compare_replay_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassettes = tmp_path / "cassettes"
    recorded = runner.invoke(
        app,
        [
            "record",
            "-f",
            "plain",
            "-s",
            SCENARIO,
            "--cassettes",
            str(cassettes),
            "--out",
            str(tmp_path / "rec"),
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    assert "reference/plain/closed-discharge-valve.yaml" in recorded.stdout
    assert "passed" in recorded.stdout
    assert (cassettes / "reference" / "plain" / f"{SCENARIO}.yaml").is_file()
    (live,) = read_results(tmp_path / "rec")

    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)
    replayed = runner.invoke(
        app,
        [
            "run",
            "-f",
            "plain",
            "-s",
            SCENARIO,
            "--cassettes",
            str(cassettes),
            "--state",
            "memory://",
            "--out",
            str(tmp_path / "run"),
            "--json",
        ],
    )
    assert replayed.exit_code == 0, replayed.output
    printed = json.loads(replayed.stdout.strip().splitlines()[-1])
    assert printed["status"] == "passed"
    assert printed["llm_calls"] == live.llm_calls
    assert printed["input_tokens"] == live.input_tokens

    compared = runner.invoke(
        app,
        [
            "compare",
            "-f",
            "plain",
            "-s",
            SCENARIO,
            "--cassettes",
            str(cassettes),
            "--state",
            "memory://",
            "--out",
            str(tmp_path / "cmp"),
            "--json",
        ],
    )
    assert compared.exit_code == 0, compared.output
    assert f"replaying every LLM call from {cassettes}/" in " ".join(compared.stderr.split())
    (result,) = read_results(tmp_path / "cmp")
    assert result.comparable() == live.comparable()


def test_run_replay_without_a_cassette_fails_and_says_how_to_record_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)
    result = runner.invoke(
        app,
        [
            "run",
            "-f",
            "plain",
            "-s",
            SCENARIO,
            "--cassettes",
            str(tmp_path / "empty"),
            "--state",
            "memory://",
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
    )
    assert result.exit_code == 1
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["status"] == "error"
    assert printed["errors"][-1].startswith(
        f"MissingCassetteError: no cassette at {tmp_path}/empty/reference/plain/{SCENARIO}.yaml: "
        f"record it with `agentrig record -f plain -s {SCENARIO} --model reference"
    )


def test_bad_combinations_are_refused_with_the_fix(tmp_path: Path) -> None:
    faults = runner.invoke(
        app, ["run", "-f", "plain", "-s", SCENARIO, "--replay", "--faults", "flaky"]
    )
    assert faults.exit_code == 2
    assert "--faults has no effect with --replay" in faults.output
    mode = runner.invoke(app, ["record", "-f", "plain", "--mode", "none"])
    assert mode.exit_code == 2
    assert "--mode 'none': record with all, once or new_episodes" in mode.output
