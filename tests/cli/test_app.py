"""The console command's root: version and help."""

from __future__ import annotations

from typer.testing import CliRunner

from agentrig import __version__
from agentrig.cli import app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"agentrig {__version__}"


def test_no_arguments_shows_help() -> None:
    result = CliRunner().invoke(app, [])
    assert "Usage" in result.output
