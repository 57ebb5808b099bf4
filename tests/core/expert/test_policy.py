"""The expert policy decides from what the agent saw, on any plant, and adapts to refusals."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    "valve-09": "valve-49",
    "tank-03": "tank-63",
    "pt-03": "pt-63",
}


def rename(text: str) -> str:
    return re.sub(r"\b[a-z]+-\d+\b", lambda m: RENAMES.get(m.group(0), m.group(0)), text)


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default plant and seven scenarios with every relevant device and sensor renamed."""
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
        "compressor-bearing-wear",
        "compressor-discharge-blockage",
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
        "compressor-bearing-wear",
        "compressor-discharge-blockage",
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
        assert not any(
            old in json.dumps(arguments)
            for old in ("pump-07", "valve-12", "valve-05", "compressor-02", "valve-09")
        )


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
    ledger = await plant.ledger()
    assert [e.tool for e in ledger if e.outcome == "applied"] == ["escalate_to_human"]


def test_operator_plan_comes_from_the_handed_diagnosis() -> None:
    scenario = load_scenario("closed-discharge-valve")
    task = build_task(
        scenario.alarm.message, [("diagnostician", "ROOT_CAUSE: closed_valve\nDEVICE: valve-12")]
    )
    first = decide(PolicyInput("operator", task, [], list(ROLE_TOOLS["operator"])))
    assert first == [ToolRequest("check_device_status", {"device_id": "valve-12"})]


# ----------------------------------------------------------------------------- lone readings
# An air compressor between two valves without sensors, a cooling pump upstream and an air
# receiver beyond: ids from no catalogue scenario, so only the reasoning can get them right.


def _reading(sensor_id: str, quantity: str, value: float, state: str) -> dict[str, Any]:
    return {
        "sensor_id": sensor_id,
        "quantity": quantity,
        "value": value,
        "unit": "",
        "state": state,
        "flagged": False,
    }


class AirPlant:
    """Answers the read-only tools from fixed statuses, like the plant's HMI would."""

    def __init__(
        self,
        *,
        lone: str,
        receiver: str = "normal",
        trend: str = "rising",
        log: Sequence[tuple[str, str]] = (),
    ) -> None:
        pressure, vibration = (
            ("alarm_high", "normal") if lone == "pt-41" else ("normal", "alarm_high")
        )
        valve = {"kind": "valve", "status": "open", "position_percent": 100.0}
        self.devices: dict[str, dict[str, Any]] = {
            "pump-45": {
                "kind": "pump",
                "status": "running",
                "fed_by": [],
                "feeds": ["valve-42"],
                "readings": [_reading("pt-45", "discharge_pressure", 4.5, "normal")],
            },
            "valve-42": {
                **valve,
                "fed_by": ["pump-45"],
                "feeds": ["compressor-41"],
                "readings": [],
            },
            "compressor-41": {
                "kind": "compressor",
                "status": "running",
                "fed_by": ["valve-42"],
                "feeds": ["valve-43"],
                "readings": [
                    _reading("pt-41", "discharge_pressure", 9.3, pressure),
                    _reading("tt-41", "discharge_temperature", 85.0, "normal"),
                    _reading("vt-41", "vibration", 7.9, vibration),
                ],
            },
            "valve-43": {
                **valve,
                "fed_by": ["compressor-41"],
                "feeds": ["tank-44"],
                "readings": [],
            },
            "tank-44": {
                "kind": "tank",
                "status": "in_service",
                "fed_by": ["valve-43"],
                "feeds": [],
                "readings": [_reading("pt-44", "receiver_pressure", 8.9, receiver)],
            },
        }
        for device in self.devices.values():
            device["normal_position_percent"] = 100.0 if device["kind"] == "valve" else None
            device["active_alarms"] = [
                f"{r['sensor_id']} {r['quantity']} {r['value']}, above the alarm limit"
                for r in device["readings"]
                if r["state"].startswith("alarm")
            ]
        self.trend = trend
        self.log = log
        self.lone = lone

    def owner(self, identifier: str) -> str | None:
        if identifier in self.devices:
            return identifier
        return next(
            (
                d
                for d, s in self.devices.items()
                for r in s["readings"]
                if r["sensor_id"] == identifier
            ),
            None,
        )

    def answer(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        device = self.owner(str(arguments.get("device_id")))
        if tool == "list_devices":
            devices = [
                {
                    "device_id": d,
                    **{k: v for k, v in s.items() if k != "readings"},
                    "sensors": [r["sensor_id"] for r in s["readings"]],
                }
                for d, s in self.devices.items()
            ]
            return {"ok": True, "devices": devices}
        if tool == "get_alarm_history":
            return {"ok": True, "device_id": None, "alarms": []}
        if device is None:
            return {"ok": False, "error": f"unknown device {arguments.get('device_id')!r}"}
        if tool == "check_device_status":
            return {"ok": True, "device_id": device, **self.devices[device]}
        if tool == "get_maintenance_log":
            sensors = {r["sensor_id"] for r in self.devices[device]["readings"]}
            entries = [
                {"t_s": -86400, "device_id": about, "entry": text}
                for about, text in self.log
                if about == device or about in sensors
            ]
            return {"ok": True, "device_id": device, "entries": entries}
        assert tool == "read_telemetry", tool
        sensors = [
            {
                "sensor_id": r["sensor_id"],
                "summary": {"trend": self.trend if r["sensor_id"] == self.lone else "steady"},
            }
            for r in self.devices[device]["readings"]
        ]
        return {"ok": True, "device_id": device, "sensors": sensors}

    def diagnose(self) -> tuple[list[list[ToolRequest]], str]:
        """Run the diagnostician to its answer: the batches of requests it made, and the answer."""
        alarm = f"ALARM compressor-41: {self.lone} high."
        task = build_task(alarm, [("monitor", "ALARM_DEVICE: compressor-41\nCONFIRMED: yes")])
        observations: list[Observation] = []
        batches: list[list[ToolRequest]] = []
        for _ in range(20):
            decision = decide(PolicyInput("diagnostician", task, list(observations), READ_TOOLS))
            if isinstance(decision, FinalAnswer):
                return batches, decision.text
            batches.append(decision)
            for request in decision:
                observations.append(
                    Observation(
                        request.tool,
                        request.arguments,
                        self.answer(request.tool, request.arguments),
                    )
                )
        raise AssertionError("no final answer")


def _rounds(batches: list[list[ToolRequest]]) -> list[list[str]]:
    return [
        [f"{r.tool} {r.arguments.get('device_id') or ''}".strip() for r in batch]
        for batch in batches
    ]


def _status_checks(batches: list[list[ToolRequest]]) -> list[str]:
    return [
        str(request.arguments["device_id"])
        for batch in batches
        for request in batch
        if request.tool == "check_device_status"
    ]


def test_a_neighbour_seen_only_in_the_device_list_is_checked_before_concluding() -> None:
    plant = AirPlant(lone="pt-41", receiver="above_normal")
    batches, answer = plant.diagnose()
    # The device list shows the receiver without an alarm; that is not quiet, only unknown.
    # The valves have no sensors, so the devices beyond them are checked instead.
    assert _rounds(batches)[:4] == [
        ["list_devices"],
        ["check_device_status compressor-41"],
        ["read_telemetry compressor-41"],
        ["check_device_status pump-45", "check_device_status tank-44"],
    ]
    # The receiver agrees that the pressure is high: not the transmitter, the line.
    assert parse_final_answer(answer).causes == (("blocked_discharge", "valve-43"),)
    assert "tank-44 is not quiet either: pt-44 receiver pressure 8.9" in answer


def test_a_drifting_sensor_whose_neighbours_disagree_is_still_the_sensor() -> None:
    plant = AirPlant(lone="pt-41", receiver="normal")
    batches, answer = plant.diagnose()
    assert _status_checks(batches) == ["compressor-41", "pump-45", "tank-44"]
    assert parse_final_answer(answer).causes == (("sensor_drift", "pt-41"),)
    # and a frozen one is the sensor at once: identical samples need no neighbour to testify
    batches, answer = AirPlant(lone="pt-41", receiver="above_normal", trend="flat").diagnose()
    assert _status_checks(batches) == ["compressor-41"]
    assert parse_final_answer(answer).causes == (("stuck_sensor", "pt-41"),)


def test_a_machine_fault_seen_by_one_sensor_is_the_machine_when_its_record_says_so() -> None:
    knocking = ("compressor-41", "Round: compressor-41 running rough, knocking at the bearing.")
    batches, answer = AirPlant(lone="vt-41", log=[knocking]).diagnose()
    # neighbours checked and quiet, then the machine's own record read before concluding
    assert _rounds(batches)[3:5] == [
        ["check_device_status pump-45", "check_device_status tank-44"],
        ["get_maintenance_log compressor-41"],
    ]
    assert parse_final_answer(answer).causes == (("bearing_wear", "compressor-41"),)
    assert "running rough, knocking" in answer
    # Entries about the sensor, or a survey that found the machine fine, do not point to it.
    for log in (
        [("vt-41", "Accelerometer vt-41 replaced after a noisy signal.")],
        [("compressor-41", "Vibration survey: 2.0 mm/s, within limits.")],
        [],
    ):
        _, answer = AirPlant(lone="vt-41", log=log).diagnose()
        assert parse_final_answer(answer).causes == (("sensor_drift", "vt-41"),), log
