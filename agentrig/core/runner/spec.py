"""What a run is (:class:`RunSpec`), where runs keep things (:class:`RunSettings`), the matrix."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agentrig.core.contract.mcp import ToolsMode
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.messaging import DEFAULT_BUS_URL
from agentrig.core.plant.sources import ScenarioRef
from agentrig.core.state import DEFAULT_STATE_URL

__all__ = [
    "DEFAULT_RUN_TIMEOUT_S",
    "ERROR_FILE_NAME",
    "WORKFLOW_NAME",
    "RunSettings",
    "RunSpec",
    "build_matrix",
    "new_session_id",
]

WORKFLOW_NAME = "maintenance"
DEFAULT_RUN_TIMEOUT_S = 300.0
ERROR_FILE_NAME = "error.txt"
"""A run's tracebacks, in its folder beside trace.jsonl; its result carries one line per error."""


class RunSpec(BaseModel):
    """What one run is: framework x scenario x model x repeat (and its seed and id)."""

    model_config = ConfigDict(frozen=True)

    framework: str
    scenario: str
    """The scenario id."""
    scenario_source: str | None = None
    """Where the scenario comes from: ``catalogue``, ``pack:<distribution>`` or a file's absolute
    path, so any process can load it from the spec alone; None looks the id up (the catalogue,
    then the installed packs)."""
    model: str = "reference"
    repeat: int = Field(default=0, ge=0)
    seed: int | None = None
    """The plant's seed; None uses the scenario's seed plus the repeat index."""
    run_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex[:16], pattern=r"^[A-Za-z0-9._:-]+$"
    )
    timeout_s: float = Field(default=DEFAULT_RUN_TIMEOUT_S, gt=0)
    tools: ToolsMode = "native"
    """How the adapter gets the plant's tools: bound in-process, or from the run's MCP servers
    through the framework's own MCP client (``--tools mcp``, docs/mcp.md)."""


class RunSettings(BaseModel):
    """Where the runs of one invocation keep their state, messages and files."""

    model_config = ConfigDict(frozen=True)

    state_url: str = DEFAULT_STATE_URL
    bus_url: str = DEFAULT_BUS_URL
    out_dir: Path = Path("runs")
    faults: str | None = None
    """A fault profile for the reference model (none, flaky, hostile, or a file)."""
    latency: str | None = None
    """A latency model for the reference model (see docs/reference-model.md)."""
    otlp_endpoint: str | None = None
    cassettes: CassetteSettings | None = None
    """Record or replay each run's LLM traffic (docs/cassettes.md); None talks to the model live.
    Replay (mode ``none``) starts no model server."""
    keep_state: bool = True
    """Keep a finished run's plant, ledger and checkpoints in the store. The Python API keeps
    them (a test or an application may inspect the plant afterwards); the CLI forgets them once
    the result is written, keeping only the run's record, unless ``--keep-state``."""


def new_session_id() -> str:
    """A sortable id for one invocation: ``20261124T081500-1a2b3c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def build_matrix(
    frameworks: Sequence[str],
    scenarios: Sequence[str | ScenarioRef],
    *,
    repeats: int = 1,
    model: str = "reference",
    session: str | None = None,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    tools: Sequence[ToolsMode] = ("native",),
) -> list[RunSpec]:
    """Every framework x scenario x repeat, scenario-major so frameworks interleave.

    A scenario is an id (looked up when the run starts) or a :class:`ScenarioRef` (an id and
    where it comes from); either way the run id names the scenario by its id. Each tools mode
    is a run of its own beside the others (``native`` first); an MCP run's id ends in ``-mcp``.
    """
    session = session or new_session_id()
    refs = [s if isinstance(s, ScenarioRef) else ScenarioRef(id=s, source="") for s in scenarios]
    return [
        RunSpec(
            framework=framework,
            scenario=ref.id,
            scenario_source=ref.source or None,
            model=model,
            repeat=repeat,
            run_id=f"{session}-{framework}-{ref.id}-r{repeat}" + ("-mcp" if mode == "mcp" else ""),
            timeout_s=timeout_s,
            tools=mode,
        )
        for ref in refs
        for repeat in range(repeats)
        for framework in frameworks
        for mode in tools
    ]
