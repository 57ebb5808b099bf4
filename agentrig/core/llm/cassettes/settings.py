"""Cassette settings, paths and the replay endpoint: the light front of the cassettes package.

``agentrig record`` runs the matrix against a live model and writes each run's traffic to
``cassettes/<model>/<framework>/<scenario>.yaml`` (``<scenario>.r<k>.yaml`` for repeat k > 0);
``agentrig run --replay`` and ``agentrig compare --replay`` answer every request from those
files, with no model server and no network. See docs/cassettes.md.

The machinery (vcrpy in :mod:`~agentrig.core.llm.cassettes.player`) is imported on first use,
so ``import agentrig`` stays quick.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict, SecretStr

from agentrig.core.llm.cassettes.http import REPLAY_HOST
from agentrig.core.llm.endpoints import ModelEndpoint, parse_model_spec

if TYPE_CHECKING:
    from agentrig.core.llm.cassettes.player import CassetteSession

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

RecordMode = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[str, ...] = get_args(RecordMode)

DEFAULT_CASSETTE_DIR = Path("cassettes")
REPLAY_BASE_URL = f"http://{REPLAY_HOST}/v1"
"""The base URL a replayed endpoint gets: never contacted (the cassette answers first)."""

_REPLAY_KEY = "agentrig-replay"
_KEY_VARIABLES = ("OPENAI_API_KEY", "VLLM_API_KEY", "AGENTRIG_MODEL_API_KEY")


def path_segment(text: str) -> str:
    """``text`` as one safe file-name segment: ``reference:hasty`` -> ``reference-hasty``."""
    segment = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return segment or "_"


def cassette_path(
    directory: Path | str, model: str, framework: str, scenario: str, repeat: int = 0
) -> Path:
    """``<directory>/<model>/<framework>/<scenario>[.r<repeat>].yaml``.

    The model is the ``--model`` string without its ``?options`` (timeouts do not change the
    traffic); each part is made a safe path segment.
    """
    name = path_segment(scenario) + (f".r{repeat}" if repeat else "") + ".yaml"
    model_name = model.split("?", 1)[0]
    return Path(directory) / path_segment(model_name) / path_segment(framework) / name


def replay_endpoint(model: str) -> ModelEndpoint:
    """The endpoint of ``model`` for replay: a placeholder URL and key, no server started.

    No API key is needed (or read) to replay a cassette recorded against a hosted model.
    """
    environ: Mapping[str, str] = {
        **os.environ,
        **{variable: _REPLAY_KEY for variable in _KEY_VARIABLES},
    }
    endpoint = parse_model_spec(model, env=environ)
    return endpoint.model_copy(
        update={"base_url": REPLAY_BASE_URL, "api_key": SecretStr(_REPLAY_KEY)}
    )


@contextmanager
def use_cassette(
    path: Path | str,
    mode: RecordMode = "none",
    *,
    header: str = "",
    record_command: str = "agentrig record",
    rerecord_command: str | None = None,
    substitutions: Mapping[str, str] | None = None,
) -> Iterator[CassetteSession]:
    """Answer the block's LLM requests from the cassette at ``path`` (or record them).

    Concurrent blocks (asyncio tasks, threads started with the context carried) each use their
    own cassette, opened at the block's first model request (a block that makes none needs no
    file). See :class:`~agentrig.core.llm.cassettes.player.RunCassette` for the modes.

    Raises:
        MissingCassetteError: mode ``none`` and no cassette at ``path``.
        CassetteMismatchError: a request matched no recorded interaction (raised at the end of
            the block even if the code inside caught it).
    """
    from agentrig.core.llm.cassettes.player import open_cassette

    with open_cassette(
        path,
        mode,
        header=header,
        record_command=record_command,
        rerecord_command=rerecord_command,
        substitutions=substitutions,
    ) as cassette:
        yield cassette


class CassetteSettings(BaseModel):
    """Whether runs record or replay their LLM traffic, and where the cassettes are."""

    model_config = ConfigDict(frozen=True)

    directory: Path = DEFAULT_CASSETTE_DIR
    mode: RecordMode = "none"

    @property
    def replaying(self) -> bool:
        """Replay only (mode ``none``): no model server is started, nothing is sent."""
        return self.mode == "none"

    def path_for(self, model: str, framework: str, scenario: str, repeat: int = 0) -> Path:
        return cassette_path(self.directory, model, framework, scenario, repeat)

    def for_run(
        self, model: str, framework: str, scenario: str, repeat: int = 0
    ) -> AbstractContextManager[CassetteSession]:
        """The cassette context of one run (see :func:`use_cassette`)."""
        command = f"agentrig record -f {framework} -s {scenario} --model {model}"
        if framework.endswith("-mcp"):  # an MCP run's own cassettes (docs/mcp.md)
            command = (
                f"agentrig record -f {framework[:-4]} -s {scenario} --model {model} --tools mcp"
            )
        if repeat:
            command += f" --repeats {repeat + 1}"
        # The file's header names no folder, so moving or re-recording it changes no byte.
        header = (
            f"agentrig cassette: the LLM traffic of {framework} on scenario {scenario} with "
            f"model {model} (repeat {repeat}).\nRe-record: {command}  (see docs/cassettes.md)"
        )
        record = command
        if self.directory != DEFAULT_CASSETTE_DIR:
            record += f" --cassettes {self.directory}"
        return use_cassette(
            self.path_for(model, framework, scenario, repeat),
            self.mode,
            header=header,
            record_command=record,
        )
