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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr

from agentrig.core.llm.cassettes import CassetteSettings, RecordMode
from agentrig.exceptions import CassetteError

if TYPE_CHECKING:
    from agentrig.core.contract.results import RunResult
    from agentrig.core.llm.cassettes.player import CassetteSession
    from agentrig.core.messaging import MessageBus
    from agentrig.core.runner import RunSettings
    from agentrig.core.state import StateStore
    from agentrig.core.telemetry.metrics import AgentrigMetrics

__all__ = ["AgentrigReplay"]


class _ReportingCassetteSettings(CassetteSettings):
    """Cassette settings that also keep the cassette errors of the runs using them.

    A run turns every error into its result (``status == "error"``), which is right for
    ``agentrig run`` but leaves a test asserting on the result with no idea why; the test
    needs the cassette's own error (how to record it, the diff).
    """

    _errors: list[CassetteError] = PrivateAttr(default_factory=list)

    @contextmanager
    def for_run(
        self, model: str, framework: str, scenario: str, repeat: int = 0
    ) -> Iterator[CassetteSession]:
        try:
            with super().for_run(model, framework, scenario, repeat) as session:
                yield session
        except CassetteError as error:
            self._errors.append(error)
            raise


@dataclass
class AgentrigReplay:
    """The ``agentrig_replay`` fixture's value.

    Attributes:
        directory: the cassette folder (ini ``agentrig_cassette_dir``, default ``cassettes``).
        mode: the record mode (``--agentrig-record-mode``, default ``none``: replay only).
        cassette: the test's own cassette (for model requests the test makes itself); its
            ``errors`` fail the test.
        out_dir: where agentrig runs write their trace files (the test's tmp_path).
        run_errors: the cassette errors of runs made with :attr:`settings` (a missing run
            cassette, a drifted request); they fail the test, even if its code caught them.
    """

    directory: Path
    mode: RecordMode
    cassette: CassetteSession
    out_dir: Path
    run_errors: list[CassetteError] = field(default_factory=list)

    @property
    def settings(self) -> CassetteSettings:
        """The run-cassette settings: pass as ``RunSettings(cassettes=...)``."""
        settings = _ReportingCassetteSettings(directory=self.directory, mode=self.mode)
        settings._errors = self.run_errors
        return settings

    @property
    def errors(self) -> list[CassetteError]:
        """Every cassette error of this test so far: its own cassette's, then its runs'."""
        return [*self.cassette.errors, *self.run_errors]

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
        """One agentrig run, its LLM calls answered by ``<model>/<framework>/<scenario>.yaml``.

        Raises:
            MissingCassetteError: replay, and the run cassette is not there (the message says
                how to record it).
            CassetteMismatchError: a request of the run matched no recorded one (the message
                names it and shows the diff).
        """
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
            known = len(self.run_errors)
            result = await execute_run(spec, services)
        if len(self.run_errors) > known:
            # The run failed on its cassette: that error, not a result saying "error", is what
            # the test's author needs to read.
            raise self.run_errors[known]
        return result
