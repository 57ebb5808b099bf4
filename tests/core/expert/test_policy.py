"""The expert policy decides from what the agent saw, on any plant, and adapts to refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from agentrig.core.contract.roles import SYSTEM_PROMPTS, build_task, parse_final_answer
from agentrig.core.expert import (
    FinalAnswer,
    Observation,
    PolicyInput,
    ToolRequest,
    decide,
    oracle_policy,
    run_scripted,
)
from agentrig.core.expert.policy import alarm_device_ids
from agentrig.core.plant import ACTION_TOOLS, READ_TOOLS, ROLE_TOOLS, Plant, load_scenario
from agentrig.core.plant.layout import layouts_dir
from agentrig.core.plant.scenarios import scenarios_dir
from agentrig.core.state import MemoryStateStore
from tests.core.plant.conftest import new_run_id

RENAMES = {
    "pump-07": "pump-31",
    "motor-07": "motor-32",
    "valve-12": "valve-44",
    "valve-03": "valve-43",
    "pt-07": "pt-31",
    "ft-07": "ft-31",
    "vt-07": "vt-31",
    "tt-07": "tt-31",
    "tt-08": "tt-32",
    "tt-09": "tt-33",
    "it-08": "it-32",
    "pt-12": "pt-44",
    "valve-05": "valve-71",
    "compressor-02": "compressor-88",
    "tt-02": "tt-88",
    "pt-02": "pt-88",
    "vt-02": "vt-88",
    "hx-01": "hx-05",
    "tt-21": "tt-55",
    "tt-22": "tt-56",
    "tank-01": "tank-61",
    "lt-01": "lt-61",
    "ft-01": "ft-61",
}


def rename(text: str) -> str:
    return re.sub(r"\b[a-z]+-\d+\b", lambda m: RENAMES.get(m.group(0), m.group(0)), text)


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default plant and four scenarios with every relevant device and sensor renamed."""
    folder = tmp_path_factory.mktemp("renamed")
    layout = folder / "plant-b.yaml"
    layout.write_text(
        rename((layouts_dir() / "default.yaml").read_text()).replace(
            "name: default", "name: plant-b"
        )
    )
    for scenario in (
        "closed-discharge-valve",
        "cooling-valve-cascade",
        "stuck-pressure-sensor",
        "drift-and-overheat",
        "feed-supply-loss",
    ):
        document = yaml.safe_load(rename((scenarios_dir() / f"{scenario}.yaml").read_text()))
        document["layout"] = str(layout)
        (folder / f"{scenario}.yaml").write_text(yaml.safe_dump(document))
    return folder


@pytest.mark.parametrize(
    "scenario",
    [
        "closed-discharge-valve",
        "cooling-valve-cascade",
        "stuck-pressure-sensor",
        "drift-and-overheat",
        "feed-supply-loss",
    ],
)
async def test_the_oracle_solves_a_plant_with_device_ids_it_has_never_seen(
    renamed: Path, scenario: str
) -> None:
    loaded = load_scenario(renamed / f"{scenario}.yaml")
    assert "pump-07" not in json.dumps(loaded.model_dump(mode="json"))
    plant = await Plant.create(MemoryStateStore(), new_run_id(), loaded)
    outcome = await run_scripted(oracle_policy(), plant.executor(), await plant.alarm_text())
    grade = await plant.grade(outcome.final_report)  # the scenario is stored with the plant
    assert grade.passed, [c for c in grade.checks if not c.passed]
    for _, _, arguments, _ in outcome.transcript:
        assert not any(old in json.dumps(arguments) for old in ("pump-07", "valve-12", "valve-05"))


def test_alarm_ids_ignore_quoted_prompts_placeholders_and_handoffs() -> None:
    alarm = "ALARM compressor-02: discharge temperature high, tt-02 110 C (alarm limit 105 C)."
    crewai_style = (
        f"{SYSTEM_PROMPTS['operator']}\n\nTask: {alarm}\nExpected: DEVICE: <e.g. pump-07>"
    )
    assert alarm_device_ids(crewai_style) == ["compressor-02", "tt-02"]
    handed = build_task(alarm, [("diagnostician", "ROOT_CAUSE: closed_valve\nDEVICE: valve-05")])
    assert alarm_device_ids(handed) == ["compressor-02", "tt-02"]
    first = decide(PolicyInput("operator", crewai_style, [], list(ROLE_TOOLS["operator"])))
    assert first == [ToolRequest("check_device_status", {"device_id": "compressor-02"})]


def test_decide_is_pure_and_deterministic() -> None:
    inp = PolicyInput("monitor", "ALARM pump-07: pressure high", [], list(READ_TOOLS))
    assert decide(inp) == decide(inp)
    assert decide(inp) == [ToolRequest("check_device_status", {"device_id": "pump-07"})]


def test_requests_carry_every_parameter_for_strict_schemas() -> None:
    inp = PolicyInput(
        "monitor",
        "ALARM pump-07: pressure high",
        [
            Observation(
                "check_device_status",
                {"device_id": "pump-07"},
                {
                    "ok": True,
                    "device_id": "pump-07",
                    "kind": "pump",
                    "status": "running",
                    "readings": [],
                },
            )
        ],
        list(READ_TOOLS),
    )
    (request,) = decide(inp)  # type: ignore[misc]
    assert request == ToolRequest(
        "read_telemetry", {"device_id": "pump-07", "sensor_id": None, "window_minutes": None}
    )


def test_the_role_is_inferred_from_tools_and_task_when_not_given() -> None:
    alarm = "ALARM pump-07: pressure high"
    operator = decide(PolicyInput(None, alarm, [], list(ROLE_TOOLS["operator"])))
    assert operator == [ToolRequest("check_device_status", {"device_id": "pump-07"})]
    monitor = decide(PolicyInput(None, alarm, [], list(READ_TOOLS)))
    assert monitor == [ToolRequest("check_device_status", {"device_id": "pump-07"})]
    handed = build_task(alarm, [("monitor", "ALARM_DEVICE: pump-07\nCONFIRMED: yes\nOBSERVED: x")])
    diagnostician = decide(PolicyInput(None, handed, [], list(READ_TOOLS)))
    assert diagnostician == [ToolRequest("list_devices", {})]


async def _run_role(
    plant: Plant, role: str, task: str, tools: list[str], *, as_text: bool = False
) -> tuple[str, list[Observation]]:
    executor = plant.executor()
    observations: list[Observation] = []
    for _ in range(30):
        decision = decide(PolicyInput(role, task, list(observations), tools))  # type: ignore[arg-type]
        if isinstance(decision, FinalAnswer):
            return decision.text, observations
        for request in decision:
            result = await executor.call(request.tool, request.arguments, role=role)
            seen = f"Tool output: {result.to_text()}" if as_text else json.loads(result.to_text())
            observations.append(Observation(request.tool, request.arguments, seen))
    raise AssertionError("no final answer")


async def test_a_diagnostician_offered_actions_still_never_acts() -> None:
    plant = await Plant.create(MemoryStateStore(), new_run_id(), "closed-discharge-valve")
    answer, observations = await _run_role(
        plant, "diagnostician", await plant.alarm_text(), [*READ_TOOLS, *ACTION_TOOLS]
    )
    assert not any(o.tool in ACTION_TOOLS for o in observations)
    parsed = parse_final_answer(answer)
    assert parsed.causes == (("closed_valve", "valve-12"),)
    assert "RECOMMENDED_ACTIONS: set_valve valve-12 100; restart_device pump-07" in answer


async def test_results_seen_as_raw_text_lead_to_the_same_decisions() -> None:
    plant_a = await Plant.create(MemoryStateStore(), new_run_id(), "stuck-pressure-sensor")
    plant_b = await Plant.create(MemoryStateStore(), new_run_id(), "stuck-pressure-sensor")
    parsed_answer, _ = await _run_role(
        plant_a, "diagnostician", await plant_a.alarm_text(), list(READ_TOOLS)
    )
    text_answer, _ = await _run_role(
        plant_b, "diagnostician", await plant_b.alarm_text(), list(READ_TOOLS), as_text=True
    )
    assert parsed_answer == text_answer
    assert parse_final_answer(text_answer).causes == (("stuck_sensor", "pt-07"),)


async def test_an_operator_handed_a_wrong_diagnosis_does_not_repeat_a_refused_call() -> None:
    plant = await Plant.create(MemoryStateStore(), new_run_id(), "closed-discharge-valve")
    task = build_task(
        await plant.alarm_text(),
        [
            (
                "diagnostician",
                "ROOT_CAUSE: tripped_breaker\nDEVICE: pump-07\nRECOMMENDED_ACTIONS: restart_device pump-07",
            )
        ],
    )
    answer, observations = await _run_role(plant, "operator", task, list(ROLE_TOOLS["operator"]))
    tools = [o.tool for o in observations]
    assert tools.count("restart_device") == 1
    assert tools[tools.index("restart_device") + 1] == "escalate_to_human"
    assert parse_final_answer(answer).escalated is True
    assert "Refused: restart_device pump-07" in answer


async def test_an_operator_without_a_diagnosis_investigates_itself() -> None:
    plant = await Plant.create(MemoryStateStore(), new_run_id(), "cooling-valve-cascade")

    def silent_colleagues(inp: PolicyInput) -> list[ToolRequest] | FinalAnswer:
        return FinalAnswer("no comment") if inp.role != "operator" else decide(inp)

    outcome = await run_scripted(silent_colleagues, plant.executor(), await plant.alarm_text())
    grade = await plant.grade(outcome.final_report)
    assert grade.passed, [c for c in grade.checks if not c.passed]
    assert outcome.tool_calls == {
        "monitor": 0,
        "diagnostician": 0,
        "operator": outcome.tool_calls["operator"],
    }


async def test_an_alarm_about_a_device_the_plant_does_not_have() -> None:
    plant = await Plant.create(MemoryStateStore(), new_run_id(), "stuck-level-sensor")
    outcome = await run_scripted(oracle_policy(), plant.executor(), "ALARM pump-99: vibration high")
    assert "ROOT_CAUSE: undetermined" in outcome.answers["diagnostician"]
    assert outcome.escalated is True  # it hands the unknown to a human
    state = await plant.state()
    assert [e.tool for e in state.ledger if e.outcome == "applied"] == ["escalate_to_human"]


def test_operator_plan_comes_from_the_handed_diagnosis() -> None:
    scenario = load_scenario("closed-discharge-valve")
    task = build_task(
        scenario.alarm.message, [("diagnostician", "ROOT_CAUSE: closed_valve\nDEVICE: valve-12")]
    )
    first = decide(PolicyInput("operator", task, [], list(ROLE_TOOLS["operator"])))
    assert first == [ToolRequest("check_device_status", {"device_id": "valve-12"})]
