"""Plant physics and fault evolution: each fault shows where, and how, it should."""

from __future__ import annotations

from agentrig.core.expert import oracle_policy
from agentrig.core.plant import load_scenario
from agentrig.core.plant.simulator import PlantSimulator, seeded_gauss
from agentrig.core.state import MemoryStateStore

from .conftest import scripted_run


def simulate(scenario_id: str, *, seed: int | None = None) -> PlantSimulator:
    return PlantSimulator.from_scenario(load_scenario(scenario_id), run_id="test", seed=seed)


def series(simulator: PlantSimulator, ticks: int, *sensors: str) -> dict[str, list[float]]:
    """True values of ``sensors`` over the next ``ticks`` ticks."""
    found: dict[str, list[float]] = {sensor: [] for sensor in sensors}
    for _ in range(ticks):
        simulator.advance()
        for sensor in sensors:
            found[sensor].append(simulator.state.true_values[sensor])
    return found


def test_healthy_plant_reads_normal_everywhere() -> None:
    simulator = simulate("closed-discharge-valve")
    # before the fault starts (tick 3) nothing alarms
    fresh = PlantSimulator.create(
        run_id="t",
        scenario_id="healthy",
        layout=simulator.layout,
        seed=1,
        alarm_device="pump-07",
        alarm_message="none",
        warmup_ticks=20,
    )
    assert fresh.state.active_alarms == {}
    assert all(
        fresh.state.status_of(d) in ("running", "open", "in_service") for d in fresh.state.devices
    )
    assert abs(fresh.state.true_values["pt-07"] - 6.5) < 0.01
    assert abs(fresh.state.true_values["ft-07"] - 50.0) < 0.01


def test_blocked_discharge_raises_pressure_until_the_pump_trips() -> None:
    simulator = simulate("blocked-discharge")
    state = simulator.state
    assert state.active_alarms == {"pt-07": "alarm_high"}
    values = series(simulator, 40, "pt-07", "ft-07", "pt-12")
    tripped_at = next(i for i, v in enumerate(values["ft-07"]) if v == 0.0)
    rising = values["pt-07"][:tripped_at]
    assert rising == sorted(rising)
    assert rising[-1] > 10.4
    assert values["ft-07"][:tripped_at] == sorted(values["ft-07"][:tripped_at], reverse=True)
    assert values["pt-12"][tripped_at - 1] < values["pt-12"][0] < 5.0  # low behind the blockage
    assert state.devices["pump-07"].trip_reason == "high_discharge_pressure"
    assert state.devices["pump-07"].trapped_pressure is not None  # cannot vent through a blockage
    assert state.alarm_log[-1].event in ("trip", "alarm_high", "cleared")
    assert any(e.event == "trip" and e.device_id == "pump-07" for e in state.alarm_log)


def test_bearing_wear_raises_vibration_and_bearing_temperature() -> None:
    simulator = simulate("pump-bearing-wear")
    values = series(simulator, 20, "vt-11", "tt-11", "ft-11")
    assert values["vt-11"][-1] > values["vt-11"][0] + 1.5
    assert values["tt-11"][-1] > values["tt-11"][0] + 5
    assert all(abs(flow - 50) < 0.5 for flow in values["ft-11"])  # the pump still delivers


def test_stuck_sensor_is_flat_while_the_process_is_normal() -> None:
    simulator = simulate("stuck-pressure-sensor")
    state = simulator.state
    readings = [value for _, value in state.samples("pt-07")][-6:]
    assert readings == [9.8] * 6
    assert abs(state.true_values["pt-07"] - 6.5) < 0.01
    neighbours = [value for _, value in state.samples("pt-12")][-6:]
    assert len(set(neighbours)) > 1
    assert all(5.0 < v < 7.0 for v in neighbours)


def test_drifting_sensor_walks_away_from_the_truth_alone() -> None:
    simulator = simulate("drift-and-overheat")
    state = simulator.state
    offsets = []
    for _ in range(5):
        simulator.advance()
        offsets.append(state.readings["tt-21"] - state.true_values["tt-21"])
    assert offsets[-1] - offsets[0] > 2.5  # 0.8 per tick, noise aside
    assert state.active_alarms.get("tt-22") is None


def test_overheating_motor_heats_up_with_normal_current_then_trips() -> None:
    simulator = simulate("motor-overheating")
    values = series(simulator, 60, "tt-08", "tt-09", "it-08")
    assert values["tt-09"][10] > values["tt-09"][0]
    assert all(abs(current - 42) < 1 for current in values["it-08"][:10])
    assert simulator.state.devices["motor-07"].trip_reason == "motor_overtemperature"
    assert simulator.state.devices["pump-07"].running is False


def test_tripped_breaker_stops_the_pump_and_the_cooling_loss_cascades() -> None:
    simulator = simulate("breaker-trip-cooling-pump")
    state = simulator.state
    assert state.devices["motor-04"].trip_reason == "breaker_trip"
    assert state.status_of("pump-04") == "stopped"
    assert state.true_values["ft-04"] == 0.0
    assert state.active_alarms.get("tt-02") == "alarm_high"  # downstream symptom
    assert "insulation monitor: normal" in (state.devices["motor-04"].fault_text or "").lower()


def test_cascade_shows_on_the_compressor_and_the_cooling_loop() -> None:
    state = simulate("cooling-valve-cascade").state
    assert state.active_alarms.get("tt-02") == "alarm_high"
    assert state.active_alarms.get("ft-04") == "alarm_low"
    assert state.status_of("compressor-02") == "running"
    assert state.status_of("valve-05") == "throttled"


def test_supply_loss_drains_the_tank_and_the_pump_cavitates() -> None:
    simulator = simulate("feed-supply-loss")
    values = series(simulator, 10, "lt-01", "pt-07", "vt-07")
    assert values["lt-01"] == sorted(values["lt-01"], reverse=True)
    assert values["pt-07"][-1] < values["pt-07"][0] < 5.5
    assert values["vt-07"][-1] > 3.5


def test_every_call_costs_one_tick_and_readings_are_seeded() -> None:
    first = simulate("stuck-level-sensor", seed=5)
    second = simulate("stuck-level-sensor", seed=5)
    third = simulate("stuck-level-sensor", seed=6)
    assert first.state.history == second.state.history
    assert first.state.history["pt-07"] != third.state.history["pt-07"]
    assert seeded_gauss("a") == seeded_gauss("a") != seeded_gauss("b")
    tick = first.state.tick
    first.advance()
    assert first.state.tick == tick + 1
    assert first.state.sim_time_s == (tick + 1) * 30


async def test_same_seed_same_trajectory_and_grade_different_seed_different_noise() -> None:
    policy = oracle_policy()
    runs = [
        await scripted_run(MemoryStateStore(), "blocked-discharge", policy, seed=seed)
        for seed in (3, 3, 4)
    ]
    (first, grade_a, plant_a), (second, grade_b, plant_b), (third, _, plant_c) = runs
    assert [t[1:] for t in first.transcript] == [t[1:] for t in second.transcript]
    assert first.answers == second.answers
    assert grade_a == grade_b
    assert grade_a.passed
    state_a, state_b, state_c = [await p.state() for p in (plant_a, plant_b, plant_c)]
    assert state_a.history == state_b.history
    ledger_a, ledger_b = await plant_a.ledger(), await plant_b.ledger()
    assert [e.result for e in ledger_a] == [e.result for e in ledger_b]
    assert state_a.history["pt-07"] != state_c.history["pt-07"]
    assert [t[3] for t in first.transcript] != [t[3] for t in third.transcript]
