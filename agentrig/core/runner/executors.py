"""Where the run matrix runs: ``--executor local`` (this process) or on Ray (``ray``, ``ray://``).

This module only parses and checks the choice; it never imports Ray. The Ray executor itself is
:mod:`agentrig.core.runner.ray_pool`, imported only when a comparison runs on Ray.

=======================  ==================================================================
``--executor``           the matrix runs
=======================  ==================================================================
``local`` (default)      in this process, ``--concurrency`` runs at a time on one event loop
``ray``                  on a Ray cluster started for the comparison on this machine: one
                         worker process per core, each running many runs on its own loop
``ray://HOST:PORT``      on an existing Ray cluster (Ray Client), one worker per CPU there
=======================  ==================================================================

A run lives in one worker process from start to end, so a ``memory://`` bus (per process) is
fine anywhere. The state store is different: when a worker dies, its unfinished runs are resumed
by another worker from the store, and on other machines only a networked store can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentrig.core.runner.spec import RunSettings
from agentrig.exceptions import ConfigurationError

__all__ = [
    "EXECUTOR_FORMS",
    "ExecutorChoice",
    "check_executor_settings",
]

EXECUTOR_FORMS = "local, ray (a Ray cluster on this machine) or ray://HOST:PORT (an existing one)"
NETWORKED_STORES = ("redis", "rediss", "postgresql", "postgres")


@dataclass(frozen=True)
class ExecutorChoice:
    """A parsed ``--executor``: ``local``, or Ray with a cluster address (None: start one here)."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = None
    """``ray://HOST:PORT`` of an existing cluster; None starts a local one."""
    workers: int | None = None
    """Worker processes; None: one per CPU of the cluster."""

    @classmethod
    def parse(cls, text: str, *, workers: int | None = None) -> ExecutorChoice:
        """``local``, ``ray`` or ``ray://HOST:PORT``.

        Raises:
            ConfigurationError: any other value, a ``ray://`` without host and port, or
                ``workers`` with the local executor.
        """
        value = text.strip()
        if value == "local":
            if workers is not None:
                raise ConfigurationError(
                    "--workers is for --executor ray: the local executor is one process"
                )
            return cls()
        if value == "ray":
            return cls(kind="ray", workers=workers)
        if value.startswith("ray://"):
            host, _, port = value.removeprefix("ray://").rstrip("/").rpartition(":")
            if not host or not port.isdigit():
                raise ConfigurationError(
                    f"--executor {text}: give the cluster's Ray Client address, ray://HOST:PORT "
                    "(port 10001 by default)"
                )
            return cls(kind="ray", address=value.rstrip("/"), workers=workers)
        raise ConfigurationError(f"--executor {text!r}: give {EXECUTOR_FORMS}")

    @property
    def remote(self) -> bool:
        """Whether workers may run on other machines than this one."""
        return self.address is not None

    def __str__(self) -> str:
        return self.address or self.kind


def check_executor_settings(
    choice: ExecutorChoice, settings: RunSettings, *, kills: int = 0, scorecard: bool = False
) -> None:
    """Refuse what the chosen executor cannot do, before anything starts.

    Raises:
        ConfigurationError: Ray is not installed; ``--kill`` or ``--scorecard`` on Ray; a store
            other machines cannot reach (memory://, sqlite, file://) with a remote cluster.
    """
    if choice.kind == "local":
        return
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise ConfigurationError(
            f"--executor {choice}: Ray is not installed: pip install 'agentrig[ray]'"
        )
    if kills:
        raise ConfigurationError(
            f"--executor {choice} cannot run --kill: its crash tests start their own processes; "
            "drop --executor (the local executor runs them)"
        )
    if scorecard:
        raise ConfigurationError(
            f"--executor {choice} cannot run --scorecard (its --kill battery starts its own "
            "processes); drop --executor"
        )
    scheme = settings.state_url.partition(":")[0].lower()
    if choice.remote and scheme not in NETWORKED_STORES:
        raise ConfigurationError(
            f"--executor {choice} runs on other machines, which cannot reach --state "
            f"{scheme}:// (it lives in one process or on this machine's disk); use a shared "
            "store: --state redis://HOST:6379/0 or postgresql://HOST/DB"
        )
