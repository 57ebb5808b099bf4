"""The console command's root: version, help, the package layout, and how usage errors read."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from typer.testing import CliRunner

import agentrig.cli
from agentrig import __version__
from agentrig.cli import app, main

runner = CliRunner()
COMMANDS = {
    "adapters",
    "compare",
    "model",
    "record",
    "report",
    "run",
    "scenarios",
    "state",
    "trace",
}


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"agentrig {__version__}"


def test_no_arguments_lists_every_command_group() -> None:
    result = runner.invoke(app, [])
    listed = {
        line.strip("│ ").split()[0]
        for line in result.output.splitlines()
        if line.startswith("│ ") and line.strip("│ ")
    }
    assert listed >= COMMANDS, result.output
    assert "error:" not in result.output  # asking for help is not a mistake


def test_the_console_script_is_the_packages_main() -> None:
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "agentrig"]
    assert script.value == "agentrig.cli:main"
    assert script.load() is main


def test_each_command_module_stays_small() -> None:
    package = Path(agentrig.cli.__file__).parent
    sizes = {module.name: module.stat().st_size for module in package.glob("*.py")}
    assert {f"{name}.py" for name in COMMANDS} <= set(sizes)
    assert max(sizes.values()) < 20_000, sizes


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["run", "-f", "plain"],
            "error: give --framework and --scenario (or --resume RUN_ID to continue a run)",
        ),
        (
            ["run", "-f", "plain", "-s", "x", "--bogus"],
            "error: No such option: --bogus (Possible options: --bus, --out); "
            "see 'agentrig run --help'",
        ),
        (
            ["compare", "--repeats", "0"],
            "error: Invalid value for '--repeats': Input should be greater than or equal to 1; "
            "see 'agentrig compare --help'",
        ),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], line: str) -> None:
    result = runner.invoke(app, args, prog_name="agentrig")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""
