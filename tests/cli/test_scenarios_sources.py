"""``-s`` with files, folders and globs in ``run``, ``compare`` and ``record``; ``scenarios validate``
and ``scenarios new`` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.contract.results import read_results
from tests.core.plant.test_scenario_sources import BOOSTER, INCIDENTS, write_scenario

runner = CliRunner()
AGENTRIG = str(Path(sys.executable).with_name("agentrig"))


def _run_json(output: str) -> dict[str, object]:
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.allow_model_requests  # the in-process reference model: no cassette for a user's file
def test_run_takes_a_scenario_file_and_names_the_run_by_its_id(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["run", "-f", "plain", "-s", str(BOOSTER), "--state", "memory://",
         "--out", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = _run_json(result.stdout)
    assert printed["scenario"] == "booster-valve-left-shut"
    assert printed["scenario_source"] == str(BOOSTER.resolve())
    assert str(printed["run_id"]).endswith("-plain-booster-valve-left-shut-r0")
    assert printed["status"] == "passed"
    assert (printed["root_cause"], printed["device"]) == ("closed_valve", "valve-84")


@pytest.mark.allow_model_requests
def test_compare_mixes_catalogue_ids_and_folders_and_records_the_sources(tmp_path: Path) -> None:
    mine = write_scenario(tmp_path / "incidents", "my-cooling-trip")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", "-f", "plain", "-s", f"stuck-pressure-sensor,{tmp_path / 'incidents'}/,"
         f"{INCIDENTS}/*.yaml", "--state", "memory://", "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = {r.scenario: r for r in read_results(out)}
    assert {s: r.scenario_source for s, r in results.items()} == {
        "stuck-pressure-sensor": "catalogue",
        "my-cooling-trip": str(mine.resolve()),
        "booster-valve-left-shut": str(BOOSTER.resolve()),
    }
    assert all(r.status == "passed" for r in results.values())
    matrix = json.loads((out / "matrix.json").read_text())
    assert matrix["scenarios"] == [
        "stuck-pressure-sensor",
        "my-cooling-trip",
        "booster-valve-left-shut",
    ]
    assert matrix["scenario_sources"]["my-cooling-trip"] == str(mine.resolve())
    report = (out / "report.html").read_text()
    assert "booster-valve-left-shut" in report
    assert (
        f"Booster pump tripped against its discharge valve left shut (from {BOOSTER.resolve()})"
        in report
    )


def test_compare_refuses_one_id_from_two_files_before_running(tmp_path: Path) -> None:
    first = write_scenario(tmp_path / "a", "my-trip")
    second = write_scenario(tmp_path / "b", "my-trip")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["compare", "-f", "plain", "-s", f"{first},{second}", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "one scenario per id, but 'my-trip' comes from" in result.output
    assert not out.exists()


@pytest.mark.allow_model_requests  # recording talks to the reference model; the replay does not
def test_record_takes_a_file_and_its_cassette_replays_it(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    recorded = runner.invoke(
        app,
        ["record", "-f", "plain", "-s", str(BOOSTER), "--cassettes", str(cassettes),
         "--out", str(tmp_path / "rec")],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    assert (cassettes / "reference" / "plain" / "booster-valve-left-shut.yaml").is_file()
    replayed = runner.invoke(
        app,
        ["run", "-f", "plain", "-s", str(BOOSTER), "--state", "memory://", "--out",
         str(tmp_path / "replay"), "--cassettes", str(cassettes), "--json"],
    )  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    assert _run_json(replayed.stdout)["status"] == "passed"


def test_validate_prints_every_problem_with_its_line_and_exits_2(tmp_path: Path) -> None:
    good = write_scenario(tmp_path, "my-good-trip")
    bad = tmp_path / "my-bad-trip.yaml"
    bad.write_text(
        good.read_text()
        .replace("id: my-good-trip", "id: my-bad-trip")
        .replace("device: pump-04\n", "device: pump-99\n")
        .replace("step_budget: 30", "step_budget: many")
    )
    lines = bad.read_text().splitlines()
    result = runner.invoke(app, ["scenarios", "validate", str(tmp_path)])
    assert result.exit_code == 2
    device_line = lines.index("  device: pump-99") + 1
    budget_line = lines.index("step_budget: many") + 1
    assert f"{bad}:{device_line}: field 'alarm.device': a device id of layout 'default'" in (
        result.output
    )
    assert f"{bad}:{budget_line}: field 'step_budget': a valid integer" in result.output
    assert f"{good}: ok" in result.output
    assert "1 of 2 scenario file(s) have problems" in result.output
    assert runner.invoke(app, ["scenarios", "validate", str(good)]).exit_code == 0


def test_new_writes_a_scaffold_that_validates_and_runs_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "my-trip.yaml"
    result = runner.invoke(
        app,
        ["scenarios", "new", "my-trip", "--device", "pump-04", "--fault", "tripped_breaker",
         "--out", str(path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "- {kind: tripped_breaker, target: motor-04," in path.read_text()
    assert runner.invoke(app, ["scenarios", "validate", str(path)]).exit_code == 0
    again = runner.invoke(
        app,
        ["scenarios", "new", "my-trip", "--device", "pump-04", "--fault", "tripped_breaker",
         "--out", str(path)],
    )  # fmt: skip
    assert again.exit_code == 2
    assert "exists: give another --out, or --force" in again.output
    unknown = runner.invoke(
        app,
        ["scenarios", "new", "x", "--device", "pump-99", "--fault", "closed_valve", "--out", "-"],
    )
    assert unknown.exit_code == 2
    assert "--device pump-99: not a device of layout 'default'" in unknown.output


def test_new_on_a_custom_layout_names_it_relative_to_the_scenario(tmp_path: Path) -> None:
    layout = tmp_path / "booster-plant.yaml"
    layout.write_text((INCIDENTS / "booster-plant.yaml").read_text())
    path = tmp_path / "incidents" / "my-booster-trip.yaml"
    result = runner.invoke(
        app,
        ["scenarios", "new", "my-booster-trip", "--device", "booster-82", "--fault",
         "bearing_wear", "--layout", str(layout), "--out", str(path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "- {kind: bearing_wear, target: booster-82," in text
    assert "\nlayout: ../booster-plant.yaml " in text


def test_scenarios_json_says_where_each_scenario_comes_from() -> None:
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0, result.output
    assert {item["source"] for item in json.loads(result.output)} == {"catalogue"}


@pytest.mark.allow_model_requests  # each process talks to its own reference model
def test_a_killed_run_of_a_file_resumes_from_its_record_named_by_path_or_id(
    tmp_path: Path,
) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    environment = {key: value for key, value in os.environ.items() if key != "AGENTRIG_KILL_AT"}
    killed = subprocess.run(
        [AGENTRIG, "run", "-f", "plain", "-s", str(BOOSTER), "--run-id", "booster-1", *state],
        cwd=tmp_path,
        env={**environment, "AGENTRIG_KILL_AT": "action#1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    resumed = subprocess.run(
        [AGENTRIG, "run", "--resume", "booster-1", "-s", str(BOOSTER), "--json", *state],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = _run_json(resumed.stdout)
    assert (result["scenario"], result["scenario_source"]) == (
        "booster-valve-left-shut",
        str(BOOSTER.resolve()),
    )
    assert result["status"] == "passed"
    assert result["attempts"] == 2
