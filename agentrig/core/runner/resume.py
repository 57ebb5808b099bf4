"""Finding a run again: its recorded spec for ``--resume``, and ``run.json`` in its folder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from agentrig.core.runner.record import RunRecord, resumable_record
from agentrig.core.runner.spec import RunSpec
from agentrig.core.state import StateStore

__all__ = [
    "RUN_POINTER_FILE",
    "find_run_pointer",
    "resume_spec",
    "write_run_pointer",
]

RUN_POINTER_FILE = "run.json"
"""``<out>/<run_id>/run.json``: the run's record as it started, so a resume on the wrong store can
say which store the run used."""


async def resume_spec(
    store: StateStore,
    run_id: str,
    *,
    state_url: str,
    expect: Mapping[str, object] | None = None,
) -> tuple[RunSpec, RunRecord]:
    """The spec of unfinished run ``run_id`` as recorded, checked like a resume; changes nothing.

    Raises:
        RunRecordError: unknown here, finished, not what ``expect`` describes, or held by a live
            process (:func:`~agentrig.core.runner.record.resumable_record`).
    """
    record, _ = await resumable_record(
        store, run_id, state_url=state_url, expect=dict(expect or {})
    )
    spec = RunSpec(
        framework=record.framework,
        scenario=record.scenario,
        scenario_source=record.scenario_source,
        model=record.model,
        repeat=record.repeat,
        seed=record.seed,
        run_id=record.run_id,
        timeout_s=record.timeout_s,
        tools=record.tools,
    )
    return spec, record


def find_run_pointer(run_id: str, folders: Iterable[Path]) -> RunRecord | None:
    """The ``run.json`` of ``run_id`` under any of ``folders`` (``runs/<session>/<run_id>/``)."""
    for folder in folders:
        for path in (
            folder / run_id / RUN_POINTER_FILE,
            *folder.glob(f"*/{run_id}/{RUN_POINTER_FILE}"),
        ):
            if path.is_file():
                try:
                    return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
                except ValueError:
                    continue
    return None


def write_run_pointer(out_dir: Path, record: RunRecord) -> None:
    folder = out_dir / record.run_id
    folder.mkdir(parents=True, exist_ok=True)
    pointer = record.model_copy(update={"owner": None})
    (folder / RUN_POINTER_FILE).write_text(pointer.model_dump_json(indent=2), encoding="utf-8")
