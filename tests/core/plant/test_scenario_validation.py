"""``validate_scenario_file``: every problem of a file at once, each with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentrig.core.plant.faults import FAULT_TARGET_KINDS
from agentrig.core.plant.layout import load_layout
from agentrig.core.plant.scaffold import scaffold_scenario
from agentrig.core.plant.scenarios import list_scenarios, load_scenario, scenarios_dir
from agentrig.core.plant.validation import minimum_actions, validate_scenario_file
from agentrig.exceptions import ScenarioError

BASE = (scenarios_dir() / "closed-discharge-valve.yaml").read_text()


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BASE
    path = tmp_path / "mine.yaml"
    path.write_text(BASE.replace(old, new))
    return path


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        (  # an unknown device
            "  device: pump-07\n",
            "  device: pump-99\n",
            "alarm.device",
            "a device id of layout 'default' (got 'pump-99')",
        ),
        (  # a fault kind the plant cannot simulate
            "{kind: closed_valve, target: valve-12,",
            "{kind: seal_leak, target: valve-12,",
            "faults[0].kind",
            "a fault kind the plant can simulate: 'tripped_breaker', 'ground_fault'",
        ),
        (  # an end-state predicate on a field the device lacks
            "{target: pump-07, field: status, op: eq, value: running}",
            "{target: pump-07, field: position, op: ge, value: 90}",
            "required_end_state[1].field",
            "a field a pump has: status, isolated, work_order, running, trips "
            "(got 'position' for pump-07)",
        ),
        (  # a budget that no solution fits
            "step_budget: 30",
            "step_budget: 1",
            "step_budget",
            "at least 2 tool calls, the actions no passing run can avoid: set_valve valve-12; "
            "restart_device pump-07 (got 1)",
        ),
    ],
)
def test_each_kind_of_problem_names_file_line_field_and_expectation(
    tmp_path: Path, old: str, new: str, field: str, expected: str
) -> None:
    path = _edited(tmp_path, old, new)
    (problem,) = validate_scenario_file(path)
    assert (problem.path, problem.field) == (str(path), field)
    assert expected in problem.expected
    assert problem.line == _line(path, new.strip().split(":")[0] if "\n" in new else new)
    assert str(problem) == f"{path}:{problem.line}: field {field!r}: {problem.expected}"
    if field != "step_budget":  # loading checks ids and schema (the budget: validate only)
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert caught.value.field == field


def test_every_problem_of_a_file_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        BASE.replace("  device: pump-07\n", "  device: pump-99\n")
        .replace("{kind: closed_valve, target: valve-12,", "{kind: seal_leak, target: valve-77,")
        .replace("field: status, op: eq", "field: level, op: eq")
        .replace("title: ", "colour: red\ntitle: ")
    )
    problems = validate_scenario_file(path)
    assert [(p.field, p.line) for p in problems] == [
        ("colour", _line(path, "colour: red")),
        ("alarm.device", _line(path, "device: pump-99")),
        ("faults[0].kind", _line(path, "seal_leak")),
        ("faults[0].target", _line(path, "seal_leak")),
        ("required_end_state[1].field", _line(path, "field: level")),
    ]
    assert "valve-77" in problems[3].expected


def test_the_catalogue_validates_and_fits_its_budgets() -> None:
    for scenario in list_scenarios():
        assert validate_scenario_file(Path(scenario.source)) == [], scenario.id
        assert 0 < len(minimum_actions(scenario)) <= scenario.step_budget


def test_a_missing_file_and_broken_yaml_are_one_problem_each(tmp_path: Path) -> None:
    (missing,) = validate_scenario_file(tmp_path / "nope.yaml")
    assert missing.expected == "an existing scenario file"
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    (problem,) = validate_scenario_file(broken)
    assert problem.expected.startswith("valid YAML")


@pytest.mark.parametrize("kind", sorted(FAULT_TARGET_KINDS))
def test_a_scaffold_validates_for_every_fault_kind(tmp_path: Path, kind: str) -> None:
    text = scaffold_scenario(load_layout(), "default", "my-incident", "pump-07", kind)
    path = tmp_path / "my-incident.yaml"
    path.write_text(text)
    assert validate_scenario_file(path) == []
    scenario = load_scenario(path)
    assert scenario.faults[0].kind == kind
    assert scenario.expected_root_causes[0].label == kind
    # every field line carries a comment saying what it is
    top_level = [line for line in text.splitlines() if line[:1].isalpha()]
    assert len(top_level) == 17
    assert all(" # " in line for line in top_level)


def test_a_custom_layout_with_ids_agents_cannot_read_is_refused_at_the_layout_line(
    tmp_path: Path,
) -> None:
    incidents = Path(__file__).parent / "incidents"
    for name in ("booster-plant.yaml", "booster-valve-left-shut.yaml"):
        text = (incidents / name).read_text().replace("booster-82", "pump-A1")
        (tmp_path / name).write_text(text)
    path = tmp_path / "booster-valve-left-shut.yaml"
    (problem,) = validate_scenario_file(path)
    assert (problem.field, problem.line) == ("layout", _line(path, "layout: booster-plant.yaml"))
    assert "device id 'pump-A1' must look like pump-07: lower-case letters, a dash" in (
        problem.expected
    )
