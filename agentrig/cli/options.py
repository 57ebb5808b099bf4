"""Options that ``run``, ``compare`` and ``record`` share, and the checks made before anything runs.

A run matrix can take minutes; an option it cannot use must stop the command before the first run
starts and before any folder or database is created, with one line naming the option and the fix.
:func:`check_run_options` is that gate.
"""

from __future__ import annotations

import errno
import math
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from agentrig.core.llm.cassettes import CassetteSettings
    from agentrig.core.runner import RunSettings

__all__ = [
    "BusOption",
    "CassettesOption",
    "FaultsOption",
    "FrameworksOption",
    "KeepStateOption",
    "MetricsPortOption",
    "ModelOption",
    "OtlpOption",
    "OutOption",
    "ReplayOption",
    "ScenariosOption",
    "StateOption",
    "TimeoutOption",
    "cassette_settings",
    "check_metrics_port",
    "check_out_dir",
    "check_run_options",
    "run_settings",
    "stdout_console",
]


def _positive_seconds(value: float) -> float:
    # Click parses "nan" and "inf" as floats; neither is a time limit a run can have.
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g} is not a time limit: give seconds > 0, e.g. 300")
    return value


ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="reference, reference:hasty, reference:sloppy, openai:gpt-4o-mini, ollama:llama3.1, "
        "or http://host:port/v1#model.",
    ),
]
StateOption = Annotated[
    str,
    typer.Option(
        "--state",
        help="State store URL: sqlite:///file.db, memory://, file:///dir, redis://, postgresql://.",
    ),
]
BusOption = Annotated[
    str, typer.Option("--bus", help="Message bus URL: memory://, redis://, redis+pubsub://.")
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder (default: runs/<session id>)."),
]
FaultsOption = Annotated[
    str | None,
    typer.Option(
        "--faults", help="Reference-model fault profile: none, flaky, hostile, or a file."
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        callback=_positive_seconds,
        help="Seconds (> 0) before a run is cut off as an error.",
    ),
]


def _port(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 65535:
        raise typer.BadParameter(f"{value} is not a port: give 1-65535, or 0 for any free one")
    return value


MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        callback=_port,
        help="Serve Prometheus metrics on 127.0.0.1:PORT meanwhile (0: any free port).",
    ),
]
OtlpOption = Annotated[
    str | None,
    typer.Option(
        "--otlp-endpoint",
        help="Also export traces over OTLP (e.g. http://127.0.0.1:4318); "
        "OTEL_EXPORTER_OTLP_ENDPOINT works too.",
    ),
]
ReplayOption = Annotated[
    bool,
    typer.Option(
        "--replay",
        help="Answer every LLM call from the recorded cassettes: no model server, no network.",
    ),
]
CassettesOption = Annotated[
    Path | None,
    typer.Option(
        "--cassettes",
        help="The cassette folder (default: cassettes); implies --replay.",
    ),
]
FrameworksOption = Annotated[
    str | None,
    typer.Option(
        "--frameworks",
        "-f",
        help="Comma-separated adapters (default: every installed one).",
    ),
]
KeepStateOption = Annotated[
    bool,
    typer.Option(
        "--keep-state",
        help="Keep each finished run's plant, ledger and checkpoints in the store (by default "
        "only its record stays: a finished run cannot be resumed).",
    ),
]
ScenariosOption = Annotated[
    str,
    typer.Option(
        "--scenarios",
        "-s",
        help="Comma-separated scenario ids, .yaml files, folders and globs, mixed; or all "
        "(the catalogue and every installed pack).",
    ),
]


def stdout_console() -> Console:
    """The console for tables: a table wider than 80 columns stays whole when piped."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def check_out_dir(out: Path) -> None:
    """Refuse an ``--out`` that is, or lies under, an existing file (runs would fail to write).

    Raises:
        ConfigurationError: with the fix.
    """
    from agentrig.exceptions import ConfigurationError

    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigurationError(
                    f"--out {out}: {folder} is a file; give a folder (it will hold results.jsonl "
                    "and one folder per run)"
                )
            return


def check_metrics_port(port: int) -> None:
    """Refuse a ``--metrics-port`` another process listens on, before any run starts.

    Binding and releasing the port here leaves a short race with whatever grabs it next; the
    metrics server reports that case the same way when it starts.

    Raises:
        ConfigurationError: the port is taken (with the fix).
    """
    from agentrig.exceptions import ConfigurationError

    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Prometheus' server sets SO_REUSEADDR too: a port in TIME_WAIT is free for it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            reason = "is in use" if error.errno == errno.EADDRINUSE else f"fails: {error}"
            raise ConfigurationError(
                f"--metrics-port {port}: 127.0.0.1:{port} {reason}; pick a free port, "
                "or 0 for any free one"
            ) from None


def check_run_options(
    *,
    model: str,
    faults: str | None,
    out: Path,
    metrics_port: int | None = None,
) -> None:
    """Check what the runs would only find out once the matrix started.

    A bad ``--model`` or ``--faults`` used to show up as one error run per cell, minutes later.

    Raises:
        ConfigurationError: the first bad option, with the fix.
    """
    from agentrig.core.llm.endpoints import parse_model_spec
    from agentrig.core.llm.faults import FaultProfile

    parse_model_spec(model)
    FaultProfile.resolve(faults)
    check_out_dir(out)
    if metrics_port is not None:
        check_metrics_port(metrics_port)


def cassette_settings(
    replay: bool, cassettes: Path | None, faults: str | None
) -> CassetteSettings | None:
    """The replay settings of ``run`` / ``compare``, or None to talk to the model live.

    Raises:
        ConfigurationError: --faults with --replay (a replay serves recorded traffic).
    """
    from agentrig.core.llm.cassettes import DEFAULT_CASSETTE_DIR, CassetteSettings
    from agentrig.exceptions import ConfigurationError

    if not replay and cassettes is None:
        return None
    if faults:
        raise ConfigurationError(
            "--faults has no effect with --replay: a replay serves the recorded traffic; "
            "drop --faults"
        )
    return CassetteSettings(directory=cassettes or DEFAULT_CASSETTE_DIR, mode="none")


def run_settings(
    state: str,
    bus: str,
    out_dir: Path,
    faults: str | None,
    otlp_endpoint: str | None,
    replay: bool,
    cassettes: Path | None,
    *,
    keep_state: bool = False,
) -> RunSettings:
    """The settings ``run`` and ``compare`` share, from their options.

    Raises:
        ConfigurationError: --faults with --replay.
    """
    from agentrig.core.runner import RunSettings

    return RunSettings(
        state_url=state,
        bus_url=bus,
        out_dir=out_dir,
        faults=faults,
        otlp_endpoint=otlp_endpoint,
        cassettes=cassette_settings(replay, cassettes, faults),
        keep_state=keep_state,
    )
