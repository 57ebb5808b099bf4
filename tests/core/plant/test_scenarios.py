"""The scenario catalogue and the validation of scenario files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agentrig.core.plant import list_scenarios, load_scenario
from agentrig.core.plant.scenarios import scenarios_dir
from agentrig.exceptions import ScenarioError


def test_catalogue_covers_what_the_grader_must_discriminate() -> None:
    scenarios = list_scenarios()
    assert len(scenarios) >= 10
    tags = {tag for scenario in scenarios for tag in scenario.tests}
    assert {
        "straightforward",
        "false_alarm",
        "safety_trap",
        "cascade",
        "escalation",
        "concurrent_faults",
        "compressor",
        "heat_exchanger",
    } <= tags
    alarm_devices = {scenario.alarm.device for scenario in scenarios}
    assert {"compressor-02", "hx-01", "pump-04", "pump-11", "tank-02", "motor-07"} <= alarm_devices
    assert any(len(s.expected_root_causes) == 2 and len(s.faults) == 2 for s in scenarios)
    assert any(s.must_escalate for s in scenarios)
    # ids are the file names
    for scenario in scenarios:
        assert Path(scenario.source).stem == scenario.id
        assert load_scenario(scenario.id) == scenario


BASE = yaml.safe_load((scenarios_dir() / "closed-discharge-valve.yaml").read_text())


def _bad(tmp_path: Path, **changes: object) -> Path:
    document = {**BASE, **changes}
    for key, value in list(document.items()):
        if value is None:
            del document[key]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"title": None}, "title", "required"),
        ({"step_budget": "lots"}, "step_budget", "a valid integer"),
        ({"step_budget": 0}, "step_budget", "greater than 0"),
        (
            {"faults": [{"kind": "gremlins", "target": "valve-12"}]},
            "faults[0].kind",
            "'tripped_breaker', 'ground_fault'",
        ),
        (
            {"expected_root_causes": [{"label": "bad_luck", "device": "valve-12"}]},
            "expected_root_causes[0].label",
            "'bad_luck'",
        ),
        ({"colour": "red"}, "colour", "no such field"),
        (
            {"faults": [{"kind": "closed_valve", "target": "valve-99"}]},
            "faults[0].target",
            "a device or sensor id of layout 'default' (got 'valve-99')",
        ),
        (
            {"faults": [{"kind": "bearing_wear", "target": "valve-12"}]},
            "faults[0].target",
            "a pump or compressor for a bearing_wear fault (got valve 'valve-12')",
        ),
        (
            {"forbidden_actions": [{"tool": "list_devices", "device": "pump-07"}]},
            "forbidden_actions[0].tool",
            "one of the action tools",
        ),
        (
            {"required_end_state": [{"target": "pump-07", "field": "colour", "value": 1}]},
            "required_end_state[0].field",
            "'status', 'running'",
        ),
        ({"alarm": {"device": "pump-07"}}, "alarm.message", "required"),
    ],
)
def test_bad_scenario_files_name_file_field_and_expectation(
    tmp_path: Path, changes: dict[str, object], field: str, expected: str
) -> None:
    path = _bad(tmp_path, **changes)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert error.path == str(path)
    assert error.field == field
    assert expected in error.expected
    assert str(path) in str(error)
    assert field in str(error)


def test_unparseable_yaml_and_non_mapping(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(ScenarioError, match="valid YAML") as caught:
        load_scenario(path)
    assert caught.value.path == str(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ScenarioError, match="a YAML mapping"):
        load_scenario(path)


def test_unknown_scenario_id_lists_the_catalogue() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("no-such-scenario")
    assert caught.value.field == "id"
    assert "closed-discharge-valve" in caught.value.expected
