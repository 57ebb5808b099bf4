"""``agentrig scenarios``: the catalogue as a table or JSON, and one scenario in detail."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.plant import list_scenarios


def test_scenarios_json_lists_every_scenario_with_id_title_and_device() -> None:
    for arguments in (["scenarios", "--json"], ["scenarios", "list", "--json"]):
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        listed = json.loads(result.output)
        assert [item["id"] for item in listed] == [s.id for s in list_scenarios()]
        for item in listed:
            assert item["title"]
            assert item["device"]
        cascade = next(item for item in listed if item["id"] == "cooling-valve-cascade")
        assert cascade["device"] == "compressor-02"
        assert cascade["expected_root_causes"] == [{"label": "closed_valve", "device": "valve-05"}]


def test_scenarios_without_arguments_prints_the_table() -> None:
    result = CliRunner().invoke(app, ["scenarios"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert f"{len(list_scenarios())} scenarios" in result.output
    assert "closed-discharge-valve" in result.output
    assert "compressor-02" in result.output


def test_scenarios_show_prints_the_alarm_with_readings_and_the_grading() -> None:
    result = CliRunner().invoke(
        app, ["scenarios", "show", "stuck-pressure-sensor"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "pt-07 9.8 bar (alarm limit 9.0 bar)" in result.output
    assert "root cause: stuck_sensor on pt-07" in result.output
    assert "forbidden: restart_device pump-07 (the pump is healthy)" in result.output
    as_json = CliRunner().invoke(app, ["scenarios", "show", "stuck-pressure-sensor", "--json"])
    document = json.loads(as_json.output)
    assert document["id"] == "stuck-pressure-sensor"
    assert document["alarm_text"].startswith(
        "ALARM pump-07: discharge pressure high, pt-07 9.8 bar"
    )
    assert document["step_budget"] == 30


def test_scenarios_show_unknown_id_fails_with_the_catalogue() -> None:
    result = CliRunner().invoke(app, ["scenarios", "show", "nope"])
    assert result.exit_code == 2
    assert "closed-discharge-valve" in result.output
