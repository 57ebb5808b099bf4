"""Replaying recorded LLM traffic in tests: what the ``agentrig_replay`` fixture hands a test.

:class:`AgentrigReplay` gives a test two things:

- its own cassette, ``<cassette dir>/<test module path>/<test name>.yaml``, answering every
  model request the test's code makes (an openai client, a framework, your agent), opened at
  the first request, so a test that makes none needs no file;
- agentrig runs on replay: :meth:`AgentrigReplay.run` and :meth:`AgentrigReplay.run_settings`
  use the run cassettes ``<cassette dir>/<model>/<framework>/<scenario>.yaml``.

With record mode ``none`` (the default) nothing reaches a model and no reference model server
may start; ``once``, ``new_episodes`` and ``all`` record (``--agentrig-record-mode``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentrig.core.llm.cassettes import CassetteSettings, RecordMode

if TYPE_CHECKING:
    from agentrig.core.llm.cassettes.player import CassetteSession
    from agentrig.core.messaging import MessageBus
    from agentrig.core.results import RunResult
    from agentrig.core.runner import RunSettings
    from agentrig.core.state import StateStore
    from agentrig.core.telemetry.metrics import AgentrigMetrics

__all__ = ["AgentrigReplay"]


@dataclass
class AgentrigReplay:
    """The ``agentrig_replay`` fixture's value.

    Attributes:
        directory: the cassette folder (ini ``agentrig_cassette_dir``, default ``cassettes``).
        mode: the record mode (``--agentrig-record-mode``, default ``none``: replay only).
        cassette: the test's own cassette (for model requests the test makes itself); its
            ``errors`` fail the test.
        out_dir: where agentrig runs write their trace files (the test's tmp_path).
    """

    directory: Path
    mode: RecordMode
    cassette: CassetteSession
    out_dir: Path

    @property
    def settings(self) -> CassetteSettings:
        """The run-cassette settings: pass as ``RunSettings(cassettes=...)``."""
        return CassetteSettings(directory=self.directory, mode=self.mode)

    @property
    def replaying(self) -> bool:
        return self.mode == "none"

    def run_settings(self, **overrides: Any) -> RunSettings:
        """``RunSettings`` for runs on the cassettes (memory state, trace files in ``out_dir``)."""
        from agentrig.core.runner import RunSettings

        values: dict[str, Any] = {
            "state_url": "memory://",
            "out_dir": self.out_dir,
            "cassettes": self.settings,
        }
        values.update(overrides)
        return RunSettings(**values)

    async def run(
        self,
        framework: str,
        scenario: str,
        *,
        model: str = "reference",
        repeat: int = 0,
        run_id: str | None = None,
        store: StateStore | None = None,
        bus: MessageBus | None = None,
        metrics: AgentrigMetrics | None = None,
    ) -> RunResult:
        """One agentrig run, its LLM calls answered by ``<model>/<framework>/<scenario>.yaml``."""
        from agentrig.core.messaging.memory import MemoryMessageBus
        from agentrig.core.runner import RunServices, RunSpec, execute_run
        from agentrig.core.state import MemoryStateStore

        spec_options: dict[str, Any] = {"run_id": run_id} if run_id else {}
        spec = RunSpec(
            framework=framework, scenario=scenario, model=model, repeat=repeat, **spec_options
        )
        async with RunServices(
            self.run_settings(),
            store=store or MemoryStateStore(),
            bus=bus or MemoryMessageBus(),
            metrics=metrics,
        ) as services:
            return await execute_run(spec, services)
