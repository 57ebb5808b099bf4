"""Bad input to ``run`` / ``compare``: one clear line, exit status 2, nothing run, nothing written.

Every case runs in an empty working directory with the default state URL (a SQLite file there)
and ``--out`` below it, so a run that started -- or a folder created before the check -- shows.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app

runner = CliRunner()
SCENARIO = "closed-discharge-valve"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def _refused(workdir: Path, args: list[str], *, option: str, fix: str) -> str:
    """Invoke; assert exit 2, one ``error:`` line naming ``option`` and ``fix``, nothing written."""
    before = sorted(path.name for path in workdir.iterdir())
    result = runner.invoke(app, [*args, "--out", str(workdir / "out")], prog_name="agentrig")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert option in line
    assert fix in line
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert sorted(path.name for path in workdir.iterdir()) == before  # no out/, no state file
    return line


@pytest.mark.parametrize("command", ["run", "compare"])
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_timeout_must_be_positive_seconds(workdir: Path, command: str, value: str) -> None:
    selection = ["-f", "plain", "-s", SCENARIO]
    _refused(workdir, [command, *selection, "--timeout", value], option="--timeout", fix="> 0")


@pytest.mark.parametrize("value", ["99999", "-1"])
def test_metrics_port_must_be_a_port(workdir: Path, value: str) -> None:
    line = _refused(
        workdir,
        ["compare", "-f", "plain", "-s", SCENARIO, "--metrics-port", value],
        option="--metrics-port",
        fix="1-65535",
    )
    assert f"{int(value)} is not a port" in line


def test_metrics_port_in_use_is_refused_before_any_run(workdir: Path, busy_port: int) -> None:
    line = _refused(
        workdir,
        ["compare", "-f", "plain", "-s", SCENARIO, "--metrics-port", str(busy_port)],
        option=f"--metrics-port {busy_port}",
        fix="pick a free port",
    )
    assert f"127.0.0.1:{busy_port} is in use" in line


@pytest.mark.parametrize("command", ["run", "compare"])
def test_out_naming_a_file_is_refused(workdir: Path, command: str) -> None:
    existing = workdir / "results.txt"
    existing.write_text("keep me")
    result = runner.invoke(
        app, [command, "-f", "plain", "-s", SCENARIO, "--out", str(existing)], prog_name="agentrig"
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --out {existing}: {existing} is a file; give a folder (it will hold "
        "results.jsonl and one folder per run)"
    ]
    assert existing.read_text() == "keep me"
    assert sorted(path.name for path in workdir.iterdir()) == ["results.txt"]


def test_out_below_a_file_is_refused(workdir: Path) -> None:
    existing = workdir / "results.txt"
    existing.write_text("keep me")
    result = runner.invoke(
        app,
        ["compare", "-f", "plain", "-s", SCENARIO, "--out", str(existing / "today")],
        prog_name="agentrig",
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --out {existing / 'today'}: {existing} is a file; give a folder (it will hold "
        "results.jsonl and one folder per run)"
    ]
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_binary_faults_file_is_named(workdir: Path, command: str) -> None:
    binary = workdir / "profile.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x81")
    line = _refused(
        workdir,
        [command, "-f", "plain", "-s", SCENARIO, "--faults", str(binary)],
        option=str(binary),
        fix="give a YAML or JSON profile file",
    )
    assert "not UTF-8 text" in line


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_missing_faults_file_is_refused_before_the_matrix(workdir: Path, command: str) -> None:
    _refused(
        workdir,
        [command, "-f", "plain", "-s", SCENARIO, "--faults", "nosuch.yaml"],
        option="nosuch.yaml",
        fix="cannot read fault profile",
    )


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_unknown_model_provider_is_refused_before_the_matrix(
    workdir: Path, command: str
) -> None:
    _refused(
        workdir,
        [command, "-f", "plain", "-s", SCENARIO, "--model", "bogus:x"],
        option="--model 'bogus:x'",
        fix="use reference[:persona], openai:MODEL",
    )


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_unknown_framework_or_scenario_lists_the_known_ones(workdir: Path, command: str) -> None:
    framework = _refused(
        workdir, [command, "-f", "nosuch", "-s", SCENARIO], option="'nosuch'", fix="plain"
    )
    assert framework.startswith("error: unknown framework 'nosuch'; registered adapters:")
    scenario = _refused(
        workdir, [command, "-f", "plain", "-s", "nope"], option="nope", fix=SCENARIO
    )
    assert scenario.startswith("error: unknown scenario(s) nope; `agentrig scenarios` lists:")


@pytest.mark.parametrize("value", ["80", "1.5", "-0.1", "abc", "120%"])
def test_fail_under_takes_a_fraction_or_a_percent(workdir: Path, value: str) -> None:
    _refused(
        workdir,
        ["compare", "-f", "plain", "-s", SCENARIO, "--fail-under", value],
        option="--fail-under",
        fix="give a fraction from 0 to 1 (0.8) or a percent (80%)",
    )
