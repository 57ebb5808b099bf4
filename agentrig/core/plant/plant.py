"""A run's plant in a StateStore: create it from a scenario, resume it, hand out executors, grade it.

::

    store = open_state_store("sqlite:///agentrig-state.db")
    plant = await Plant.create(store, run_id, "closed-discharge-valve")
    executor = plant.executor()
    result = await executor.call("check_device_status", {"device_id": "pump-07"}, role="monitor")
    ...
    grade = await plant.grade(final_answer_text)

Creating a plant for a run id that already has one resumes it, provided the scenario and seed
match; the document is written with ``expected_version=0`` so two creators cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentrig.core.plant.executor import CommitHook, ToolCallHook, ToolExecutor
from agentrig.core.plant.grader import Grade, grade_run
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.plant.scenarios import Scenario, load_scenario
from agentrig.core.plant.simulator import PlantSimulator
from agentrig.core.plant.state import (
    LedgerEntry,
    PlantState,
    plant_key,
    plant_state_from_document,
)
from agentrig.core.state.base import StateStore, validate_key
from agentrig.exceptions import PlantError, VersionConflict

__all__ = ["Plant"]


class Plant:
    """Handle on one run's plant document."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.key = validate_key(plant_key(run_id))

    @classmethod
    async def create(
        cls,
        store: StateStore,
        run_id: str,
        scenario: Scenario | str,
        *,
        seed: int | None = None,
    ) -> Plant:
        """Create the run's plant from ``scenario`` (an id, a path or a Scenario), or resume it.

        Raises:
            PlantError: the run id already holds a plant of another scenario or seed.
            CorruptStateError: the run id's key holds something that is not a plant document.
            ScenarioError: the scenario does not load.
        """
        if isinstance(scenario, str):
            scenario = load_scenario(scenario)
        plant = cls(store, run_id)
        chosen_seed = scenario.seed if seed is None else seed
        if await plant._resumable(scenario, chosen_seed):
            return plant
        simulator = PlantSimulator.from_scenario(scenario, run_id=run_id, seed=chosen_seed)
        try:
            await store.save(plant.key, simulator.state.model_dump(mode="json"), expected_version=0)
        except VersionConflict:
            # Another process created it between our load and save: resume theirs.
            if not await plant._resumable(scenario, chosen_seed):
                raise
        return plant

    async def _resumable(self, scenario: Scenario, seed: int) -> bool:
        loaded = await self.store.load(self.key)
        if loaded is None:
            return False
        # A document that is no plant at all is corrupt, not "a plant of another scenario".
        existing = plant_state_from_document(self.store, self.key, loaded.state)
        if existing.scenario_id != scenario.id or existing.seed != seed:
            raise PlantError(
                f"run {self.run_id!r} already has a plant for scenario "
                f"{existing.scenario_id!r} with seed {existing.seed}; "
                f"use a new run id for {scenario.id!r} with seed {seed}"
            )
        return True

    async def state(self) -> PlantState:
        """The current plant document.

        Raises:
            PlantError: the run has no plant.
            CorruptStateError: the run's key holds something that is not a plant document.
        """
        loaded = await self.store.load(self.key)
        if loaded is None:
            raise PlantError(f"run {self.run_id!r} has no plant; create it with Plant.create")
        return plant_state_from_document(self.store, self.key, loaded.state)

    async def ledger(self) -> list[LedgerEntry]:
        """Every tool call of the run, in order (each entry lives under its own key).

        Raises:
            PlantError: the run has no plant.
            CorruptStateError: an entry is not a ledger entry, or entries are missing.
        """
        return await read_ledger(self.store, self.run_id)

    async def alarm_text(self) -> str:
        """The alarm message the run starts from, with the readings filled in."""
        return (await self.state()).alarm.message

    def executor(
        self, *, hooks: Sequence[ToolCallHook] = (), commit_hooks: Sequence[CommitHook] = ()
    ) -> ToolExecutor:
        """A tool executor for this run (several may share one plant; CAS keeps them honest)."""
        return ToolExecutor(self.store, self.run_id, hooks=hooks, commit_hooks=commit_hooks)

    async def grade(self, final_answer: str, scenario: Scenario | None = None) -> Grade:
        """Grade the run's current state and the operator's final answer.

        The scenario defaults to the one the plant was created from, as stored in its document.
        """
        state = await self.state()
        if scenario is None:
            scenario = (
                Scenario.model_validate_json(state.scenario_json)
                if state.scenario_json
                else load_scenario(state.scenario_id)
            )
        return grade_run(scenario, state, final_answer, ledger=await self.ledger())
