"""Record and replay LLM traffic: one vcrpy cassette per run, matched on a normalised body.

The modules, from the front to the file:

- :mod:`~agentrig.core.llm.cassettes.settings`: settings, paths, the replay endpoint and
  :func:`use_cassette` (the public names below);
- :mod:`~agentrig.core.llm.cassettes.http`: the one process-wide httpx patch that hands each
  request to its run's cassette, and the test suites' live-request guard;
- :mod:`~agentrig.core.llm.cassettes.player`: one cassette in use (replay, record, drift errors);
- :mod:`~agentrig.core.llm.cassettes.normalise`: what is stored and matched of an exchange;
- :mod:`~agentrig.core.llm.cassettes.yaml`: the file format, bodies written for people to read;
- :mod:`~agentrig.core.llm.cassettes.diff`: explaining a miss (nearest request, unified diff).

See docs/cassettes.md.
"""

from __future__ import annotations

from agentrig.core.llm.cassettes.settings import (
    DEFAULT_CASSETTE_DIR,
    RECORD_MODES,
    REPLAY_BASE_URL,
    CassetteSettings,
    RecordMode,
    cassette_path,
    path_segment,
    replay_endpoint,
    use_cassette,
)

__all__ = [
    "DEFAULT_CASSETTE_DIR",
    "RECORD_MODES",
    "REPLAY_BASE_URL",
    "CassetteSettings",
    "RecordMode",
    "cassette_path",
    "path_segment",
    "replay_endpoint",
    "use_cassette",
]
