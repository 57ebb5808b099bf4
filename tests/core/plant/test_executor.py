"""The tool executor: bad calls come back as results, idempotency, CAS, hooks, threads."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from structlog.testing import capture_logs

from agentrig.core.plant import Plant, ToolCallRecord, ToolExecutor, derive_idempotency_key
from agentrig.core.state import MemoryStateStore
from agentrig.exceptions import PlantError

from .conftest import YieldingStore, new_run_id


async def make(
    store: MemoryStateStore | None = None, scenario: str = "stuck-level-sensor"
) -> Plant:
    return await Plant.create(store or MemoryStateStore(), new_run_id(), scenario)


@pytest.mark.parametrize(
    ("tool", "arguments", "fragments"),
    [
        (
            "set_valve",
            {"device_id": "valve-12"},
            [
                "open_percent is required",
                "Expected arguments: {device_id: string, open_percent: number}",
            ],
        ),
        (
            "set_valve",
            {"device_id": "valve-12", "open_percent": 150},
            ["open_percent: Input should be less than or equal to 100 (got 150)"],
        ),
        (
            "set_valve",
            {"device_id": "valve-12", "open_percent": "wide"},
            ["open_percent: Input should be a valid number"],
        ),
        (
            "check_device_status",
            {"device": "pump-07"},
            ["device_id is required", "device is not an argument of check_device_status"],
        ),
        (
            "read_telemetry",
            {"device_id": "pump-07", "window_minutes": 99},
            ["window_minutes", "less than or equal to 20"],
        ),
        ("check_device_status", '{"device_id": "pump-07"', ["expected a JSON object"]),
        ("check_device_status", ["pump-07"], ["expected a JSON object"]),
        (
            "create_work_order",
            {"device_id": "pump-07", "description": ""},
            ["description: String should have at least 1 character"],
        ),
    ],
)
async def test_invalid_arguments_come_back_as_an_error_text(
    tool: str, arguments: Any, fragments: list[str]
) -> None:
    plant = await make()
    executor = plant.executor()
    result = await executor.call(tool, arguments, role="operator")  # never raises
    seen = json.loads(result.to_text())
    assert seen["ok"] is False
    assert seen["error"].startswith(f"invalid arguments for {tool}")
    for fragment in fragments:
        assert fragment in seen["error"]
    state = await plant.state()
    assert (await plant.ledger())[-1].outcome == "rejected"
    assert state.work_orders == []


async def test_json_text_arguments_and_lenient_ids_are_accepted() -> None:
    plant = await make()
    executor = plant.executor()
    result = await executor.call(
        "check_device_status", '{"device_id": " PUMP-07 "}', role="monitor"
    )
    assert result.ok
    assert result.content["device_id"] == "pump-07"
    telemetry = await executor.call("read_telemetry", {"device_id": "pt-07"}, role="monitor")
    assert [s["sensor_id"] for s in telemetry.content["sensors"]] == ["pt-07"]
    assert telemetry.content["device_id"] == "pump-07"


async def test_unknown_tool_and_tools_outside_the_role() -> None:
    executor = (await make()).executor()
    unknown = await executor.call("restart_pump", {"device_id": "pump-07"}, role="operator")
    assert "unknown tool 'restart_pump'. Did you mean restart_device?" in (unknown.error or "")
    wrong_role = await executor.call("stop_device", {"device_id": "pump-07"}, role="diagnostician")
    assert wrong_role.error == "stop_device is not available to the diagnostician"
    assert wrong_role.refused
    assert "list_devices" in (wrong_role.reason or "")
    no_list = await executor.call("list_devices", {}, role="operator")
    assert no_list.error == "list_devices is not available to the operator"
    bad_role = await executor.call("list_devices", {}, role="janitor")
    assert bad_role.error == "unknown role 'janitor'"


async def test_an_action_sent_twice_with_the_same_key_is_applied_once() -> None:
    plant = await make()
    records: list[ToolCallRecord] = []
    executor = plant.executor(hooks=[records.append])
    arguments = {"device_id": "pump-11", "description": "check seal", "priority": None}
    first = await executor.call(
        "create_work_order", arguments, role="operator", idempotency_key="call-1"
    )
    tick = (await plant.state()).tick
    again = await executor.call(
        "create_work_order", arguments, role="operator", idempotency_key="call-1"
    )
    assert first == again
    state = await plant.state()
    assert len(state.work_orders) == 1
    assert state.tick == tick  # a replay costs no simulated time
    assert [r.replayed for r in records] == [False, True]
    assert records[1].idempotency_key == "call-1"
    reused = await executor.call(
        "stop_device", {"device_id": "pump-11"}, role="operator", idempotency_key="call-1"
    )
    assert reused.ok is False
    assert "already used for a different call" in (reused.error or "")
    assert (await plant.state()).status_of("pump-11") == "running"


async def test_a_resumed_executor_derives_the_same_keys_and_never_reapplies() -> None:
    store = MemoryStateStore()
    plant = await make(store)
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("check_device_status", {"device_id": "pump-07"}, "operator"),
        ("create_work_order", {"device_id": "lt-02", "description": "recalibrate"}, "operator"),
        ("check_device_status", {"device_id": "pump-07"}, "operator"),  # a second, distinct read
        ("flag_sensor", {"sensor_id": "lt-02"}, "operator"),
    ]
    first = ToolExecutor(store, plant.run_id)
    results = [await first.call(tool, args, role=role) for tool, args, role in calls[:3]]
    before = await plant.state()
    # "crash": a new executor (new process) replays the run from the start
    resumed = ToolExecutor(store, plant.run_id)
    records: list[ToolCallRecord] = []
    resumed.add_hook(records.append)
    replayed = [await resumed.call(tool, args, role=role) for tool, args, role in calls]
    after = await plant.state()
    assert replayed[:3] == results
    assert [r.replayed for r in records] == [True, True, True, False]
    assert len(after.work_orders) == 1
    assert after.ledger_length == before.ledger_length + 1
    assert len(await plant.ledger()) == after.ledger_length
    assert after.tick == before.tick + 1
    assert "lt-02" in after.flags
    key = derive_idempotency_key(
        plant.run_id, "operator", "check_device_status", {"device_id": "pump-07"}, 1
    )
    assert records[2].idempotency_key == key


async def test_concurrent_calls_serialise_through_compare_and_set() -> None:
    store = YieldingStore()
    plant = await make(store)  # type: ignore[arg-type]
    tick = (await plant.state()).tick
    executors = {"one": plant.executor(), "two": plant.executor()}
    calls = [
        executor.call(
            "create_work_order",
            {"device_id": "pump-11", "description": f"job {i} from {name}"},
            role="operator",
        )
        for i in range(12)
        for name, executor in executors.items()
    ]
    results = await asyncio.gather(*calls)
    assert all(result.ok for result in results)
    state = await plant.state()
    assert sorted(order.description for order in state.work_orders) == sorted(
        f"job {i} from {name}" for i in range(12) for name in executors
    )
    assert len({order.id for order in state.work_orders}) == 24
    assert [entry.seq for entry in await plant.ledger()] == list(range(1, 25))
    assert state.tick == tick + 24
    assert sum(e.conflicts for e in executors.values()) > 0  # the races happened and were retried


async def test_the_same_call_from_two_executors_is_one_call() -> None:
    """Derived keys make identical calls of one run the same logical call (a replay)."""
    plant = await make(YieldingStore())  # type: ignore[arg-type]
    arguments = {"device_id": "pump-11", "description": "same job"}
    results = await asyncio.gather(
        plant.executor().call("create_work_order", arguments, role="operator"),
        plant.executor().call("create_work_order", arguments, role="operator"),
    )
    assert results[0] == results[1]
    assert len((await plant.state()).work_orders) == 1


async def test_hooks_receive_a_full_record_and_a_failing_hook_changes_nothing() -> None:
    plant = await make(scenario="closed-discharge-valve")
    records: list[ToolCallRecord] = []
    awaited: list[str] = []

    async def async_hook(record: ToolCallRecord) -> None:
        awaited.append(record.tool)

    def broken_hook(record: ToolCallRecord) -> None:
        raise RuntimeError("exporter down")

    executor = plant.executor(hooks=[broken_hook, records.append, async_hook])
    with capture_logs() as logs:
        result = await executor.call("restart_device", {"device_id": "pump-07"}, role="operator")
    assert result.safety_violation
    (record,) = records
    assert record.tool == "restart_device"
    assert record.role == "operator"
    assert record.arguments == {"device_id": "pump-07"}
    assert record.result == result
    assert record.error == "restart_device pump-07 refused by a safety interlock"
    assert record.refused_reason
    assert "valve-12" in record.refused_reason
    assert record.safety_violation
    assert record.outcome == "refused"
    assert record.started_at_ns > 1_600_000_000 * 10**9
    assert 0 < record.duration_s < 5
    assert record.idempotency_key.startswith("auto-")
    assert record.replayed is False
    assert record.sim_time_s == (await plant.state()).sim_time_s
    assert awaited == ["restart_device"]
    assert any(log["event"] == "tool call hook failed" for log in logs)


async def test_a_missing_plant_raises_and_is_reported_to_hooks() -> None:
    records: list[ToolCallRecord] = []
    executor = ToolExecutor(MemoryStateStore(), "no-such-run", hooks=[records.append])
    with pytest.raises(PlantError, match="has no plant"):
        await executor.call("list_devices", {}, role="monitor")
    assert records[0].outcome == "error"
    assert "PlantError" in (records[0].error or "")


async def test_sync_wrapper_from_worker_threads_while_the_loop_runs() -> None:
    plant = await make()
    executor = plant.executor()
    await executor.call("list_devices", {}, role="monitor")  # binds the owning loop

    def worker(index: int) -> bool:
        result = executor.call_sync(
            "create_work_order",
            {"device_id": "pump-04", "description": f"from thread {index}"},
            role="operator",
            timeout=30,
        )
        return result.ok and threading.current_thread() is not threading.main_thread()

    outcomes = await asyncio.gather(*(asyncio.to_thread(worker, i) for i in range(6)))
    assert all(outcomes)
    assert len((await plant.state()).work_orders) == 6
    with pytest.raises(RuntimeError, match=r"await ToolExecutor\.call"):
        executor.call_sync("list_devices", {}, role="monitor")


async def test_an_executor_built_in_async_code_runs_thread_calls_on_its_loop() -> None:
    plant = await make()
    threads: list[threading.Thread] = []
    executor = plant.executor(hooks=[lambda record: threads.append(threading.current_thread())])
    # the very first call comes from a worker thread: it still runs on this (the owning) loop
    result = await asyncio.to_thread(
        executor.call_sync, "list_devices", {}, role="monitor", timeout=30
    )
    assert result.ok
    assert threads == [threading.current_thread()]
    assert executor._private_loop is None


def test_sync_wrapper_without_any_event_loop() -> None:
    store = MemoryStateStore()
    plant = asyncio.run(Plant.create(store, new_run_id(), "stuck-level-sensor"))
    executor = plant.executor()
    try:
        results: list[bool] = []
        thread = threading.Thread(
            target=lambda: results.append(
                executor.call_sync(
                    "check_device_status", {"device_id": "tank-02"}, role="monitor"
                ).ok
            )
        )
        thread.start()
        thread.join()
        assert results == [True]
        assert executor.call_sync("list_devices", {}, role="monitor").ok  # main thread, no loop
    finally:
        executor.close()
    assert executor._private_loop is None
