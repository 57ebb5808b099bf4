"""The ``agentrig`` command: run, compare and inspect agent frameworks on the simulated plant.

One module per command group, each thin -- it parses options, checks them before anything runs,
calls the library and renders the result with rich:

- :mod:`~agentrig.cli.app`: the root (``--version``), :func:`~agentrig.cli.app.fail`, exit codes
- :mod:`~agentrig.cli.options`: the options ``run``/``compare``/``record`` share, and their checks
- ``run``, ``compare``, ``record``, ``report``, ``adapters``, ``scenarios``, ``state``,
  ``trace``, ``model``, ``mcp``
"""

from __future__ import annotations

# Importing a command module registers its commands on ``app``.
from agentrig.cli import (  # noqa: F401
    adapters,
    compare,
    mcp,
    model,
    record,
    report,
    run,
    scenarios,
    state,
    trace,
)
from agentrig.cli.app import app, main

__all__ = ["app", "main"]
