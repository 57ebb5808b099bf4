"""Runs: one run's life, the matrix, resuming and crash-testing runs, and why runs failed.

==================  ===========================================================================
module              owns
==================  ===========================================================================
``spec``            :class:`RunSpec` (what a run is), :class:`RunSettings`, :func:`build_matrix`
``services``        :class:`RunServices`: what the runs of one process share
``run``             :func:`execute_run`: world + adapter + grading -> ``RunResult``, resumable
``evidence``        what a finished run is read back from: ledger, trace file, tracebacks
``record``          a run's record and lease in the store (resume by id, one resume at a time)
``resume``          the recorded spec of a run to resume, ``run.json`` in its folder
``retention``       how long a run's state stays in the store; ``state prune``
``failures``        why a run did not pass: a category and one attributed sentence
``crash``           kill points and the SIGKILL switch; ``crash_test``: ``compare --kill``
``matrix``          :func:`run_matrix`: many runs at a bounded concurrency
``compare``         the comparison behind ``agentrig compare``, written to a folder as it goes
``executors``       ``--executor``: local or Ray, and what each refuses; ``ray_pool``: the Ray workers
==================  ===========================================================================

Names load on first use: importing one module does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrig._lazy import lazy_exports

if TYPE_CHECKING:
    from agentrig.core.runner.matrix import run_matrix
    from agentrig.core.runner.resume import find_run_pointer, resume_spec
    from agentrig.core.runner.run import execute_run
    from agentrig.core.runner.services import RunServices
    from agentrig.core.runner.spec import (
        DEFAULT_RUN_TIMEOUT_S,
        ERROR_FILE_NAME,
        WORKFLOW_NAME,
        RunSettings,
        RunSpec,
        build_matrix,
        new_session_id,
    )

_SPEC = "agentrig.core.runner.spec"
_EXPORTS: dict[str, str] = {
    "DEFAULT_RUN_TIMEOUT_S": _SPEC,
    "ERROR_FILE_NAME": _SPEC,
    "WORKFLOW_NAME": _SPEC,
    "RunSettings": _SPEC,
    "RunSpec": _SPEC,
    "build_matrix": _SPEC,
    "new_session_id": _SPEC,
    "RunServices": "agentrig.core.runner.services",
    "execute_run": "agentrig.core.runner.run",
    "run_matrix": "agentrig.core.runner.matrix",
    "find_run_pointer": "agentrig.core.runner.resume",
    "resume_spec": "agentrig.core.runner.resume",
}

__all__ = [
    "DEFAULT_RUN_TIMEOUT_S",
    "ERROR_FILE_NAME",
    "WORKFLOW_NAME",
    "RunServices",
    "RunSettings",
    "RunSpec",
    "build_matrix",
    "execute_run",
    "find_run_pointer",
    "new_session_id",
    "resume_spec",
    "run_matrix",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
