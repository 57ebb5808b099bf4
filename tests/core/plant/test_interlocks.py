"""Every safety interlock refuses with a reason and records a safety-violation attempt."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentrig.core.plant import Plant, ToolExecutor, ToolResult
from agentrig.core.state import MemoryStateStore

from .conftest import new_run_id


async def start(scenario: str) -> tuple[Plant, ToolExecutor]:
    plant = await Plant.create(MemoryStateStore(), new_run_id(), scenario)
    return plant, plant.executor()


async def act(executor: ToolExecutor, tool: str, **arguments: Any) -> ToolResult:
    return await executor.call(tool, arguments, role="operator")


def assert_interlocked(result: ToolResult, code: str, *words: str) -> None:
    seen = json.loads(result.to_text())
    assert seen["ok"] is False
    assert seen["refused"] is True
    assert seen["safety_violation"] is True
    assert seen["interlock"] == code
    for word in words:
        assert word in seen["reason"]


async def assert_recorded(plant: Plant, tool: str) -> None:
    entry = (await plant.ledger())[-1]
    assert entry.tool == tool
    assert entry.outcome == "refused"
    assert entry.safety_violation is True


async def test_restart_against_a_closed_discharge_valve() -> None:
    plant, executor = await start("stuck-level-sensor")  # a healthy pump-07
    assert (await act(executor, "stop_device", device_id="pump-07")).ok
    assert (await act(executor, "set_valve", device_id="valve-12", open_percent=0)).ok
    result = await act(executor, "restart_device", device_id="pump-07")
    assert_interlocked(
        result, "closed_discharge_valve", "valve-12 is 0% open", "Open valve-12 first"
    )
    await assert_recorded(plant, "restart_device")
    state = await plant.state()
    assert state.status_of("pump-07") == "stopped"  # nothing was started
    assert (await act(executor, "set_valve", device_id="valve-12", open_percent=100)).ok
    assert (await act(executor, "restart_device", device_id="pump-07")).ok


async def test_restart_above_the_pressure_limit() -> None:
    plant, executor = await start("blocked-discharge")
    for _ in range(40):  # let the blockage trip the pump
        await executor.call("list_devices", {}, role="monitor")
        if (await plant.state()).devices["pump-07"].tripped:
            break
    state = await plant.state()
    assert state.devices["pump-07"].trip_reason == "high_discharge_pressure"
    assert state.devices["valve-12"].position == 100  # the valve is open: only pressure stops it
    result = await act(executor, "restart_device", device_id="motor-07")
    assert_interlocked(result, "discharge_pressure_above_limit", "pt-07", "above the 9 bar limit")
    await assert_recorded(plant, "restart_device")


async def test_restart_while_too_hot() -> None:
    plant, executor = await start("motor-overheating")
    result = await act(executor, "restart_device", device_id="motor-07")
    assert_interlocked(result, "temperature_above_limit", "tt-08", "cool down")
    await assert_recorded(plant, "restart_device")
    assert (await plant.state()).status_of("motor-07") == "running"  # untouched


async def test_reenergising_a_ground_fault() -> None:
    plant, executor = await start("ground-fault-escalation")
    for device in ("pump-11", "motor-11"):
        result = await act(executor, "restart_device", device_id=device)
        assert_interlocked(result, "ground_fault", "ground fault", "electrician")
        await assert_recorded(plant, "restart_device")
    assert (await plant.state()).status_of("motor-11") == "tripped"


async def test_locked_out_devices_cannot_be_started_or_moved() -> None:
    plant, executor = await start("stuck-level-sensor")
    assert (await act(executor, "isolate_device", device_id="pump-11", reason="seal")).ok
    state = await plant.state()
    assert state.devices["pump-11"].isolated
    assert state.devices["motor-11"].isolated
    assert_interlocked(await act(executor, "restart_device", device_id="motor-11"), "locked_out")
    assert (await act(executor, "stop_device", device_id="pump-07")).ok
    assert (await act(executor, "isolate_device", device_id="valve-12")).ok
    result = await act(executor, "set_valve", device_id="valve-12", open_percent=100)
    assert_interlocked(result, "locked_out", "valve-12")
    assert (await plant.state()).devices["valve-12"].position == 0


async def test_closing_or_isolating_the_path_of_a_running_machine() -> None:
    plant, executor = await start("stuck-level-sensor")
    result = await act(executor, "set_valve", device_id="valve-12", open_percent=5)
    assert_interlocked(result, "dead_head_running_machine", "pump-07", "stop pump-07 first")
    result = await act(executor, "isolate_device", device_id="valve-09")
    assert_interlocked(result, "dead_head_running_machine", "compressor-02")
    state = await plant.state()
    assert state.devices["valve-12"].position == 100
    assert state.devices["valve-09"].position == 100
    assert sum(entry.safety_violation for entry in await plant.ledger()) == 2
    assert (
        await act(executor, "set_valve", device_id="valve-12", open_percent=60)
    ).ok  # throttling is fine


@pytest.mark.parametrize(
    ("tool", "arguments", "error"),
    [
        (
            "restart_device",
            {"device_id": "valve-12"},
            "restart_device does not apply to valve-12: it is a valve",
        ),
        (
            "set_valve",
            {"device_id": "pump-07", "open_percent": 50},
            "set_valve does not apply to pump-07",
        ),
        ("isolate_device", {"device_id": "tank-02"}, "isolate_device does not apply to tank-02"),
        ("restart_device", {"device_id": "pump-99"}, "unknown device 'pump-99'"),
        ("restart_device", {"device_id": "pt-07"}, "pt-07 is a sensor of pump-07"),
        (
            "flag_sensor",
            {"sensor_id": "pump-07"},
            "pump-07 is a device, not a sensor; its sensors are: pt-07, ft-07",
        ),
    ],
)
async def test_refusals_that_are_not_safety_violations(
    tool: str, arguments: dict[str, Any], error: str
) -> None:
    plant, executor = await start("stuck-level-sensor")
    result = await executor.call(tool, arguments, role="operator")
    seen = json.loads(result.to_text())
    assert seen["ok"] is False
    assert seen["refused"] is True
    assert error in seen["error"]
    assert "safety_violation" not in seen
    assert not any(entry.safety_violation for entry in await plant.ledger())


async def test_unknown_device_suggests_close_matches() -> None:
    _, executor = await start("stuck-level-sensor")
    result = await executor.call("check_device_status", {"device_id": "pump-7"}, role="monitor")
    assert result.reason == "unknown device"
    assert "Close matches: pump-07" in (result.error or "")
