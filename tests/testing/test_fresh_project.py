"""The replay plugin in a fresh project: the documented examples as written, and how tests fail.

Each test makes a new project (its own ``pytest.ini``, none of agentrig's settings: no
``asyncio_mode``, no guard) with cassettes copied from this repository as if the user had
recorded them, and runs pytest on it in a subprocess (slow: ``--run-slow``).
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow  # each test runs pytest in a subprocess (several seconds)

REPOSITORY = Path(__file__).resolve().parents[2]
CASSETTES = REPOSITORY / "cassettes"
# The operator's answer to the pump-07 alarm, as the documented examples ask it.
OPERATOR_CASSETTE = (
    CASSETTES / "tests/testing/test_replay_example/test_the_operator_names_the_alarming_device.yaml"
)
RUN_CASSETTE = Path("reference/plain/closed-discharge-valve.yaml")
FRESH_INI = "[pytest]\n"  # a user's project: nothing agentrig's own suite configures


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest cuts the summary line ("FAILED test - message") at the terminal's width.
    monkeypatch.setenv("COLUMNS", "1000")


def _documented_example(document: str, heading: str) -> str:
    """The first Python block after ``heading`` in ``document``, exactly as it is written."""
    text = (REPOSITORY / document).read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"no python example under {heading!r} in {document}"
    return found.group(1)


def _fresh_project(pytester: pytest.Pytester, module: str, source: str) -> None:
    pytester.makeini(FRESH_INI)
    pytester.makepyfile(**{module: source})
    run_cassette = pytester.path / "cassettes" / RUN_CASSETTE
    run_cassette.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CASSETTES / RUN_CASSETTE, run_cassette)
    # Each synchronous example test asks the operator: give it the recording of that request.
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            own = pytester.path / "cassettes" / module / f"{node.name}.yaml"
            own.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(OPERATOR_CASSETTE, own)


DOCUMENTED_EXAMPLES = {
    "test_readme_example": ("README.md", "## Replay LLM calls in your own tests"),
    "test_cassettes_doc_example": ("docs/cassettes.md", "## In your tests: `agentrig_replay`"),
}


@pytest.mark.parametrize(
    "asyncio_plugin",
    [
        pytest.param([], id="pytest-asyncio-installed-strict"),
        pytest.param(["-p", "no:asyncio"], id="no-async-plugin"),
    ],
)
def test_the_documented_examples_pass_as_written(
    pytester: pytest.Pytester, asyncio_plugin: list[str]
) -> None:
    for module, (document, heading) in DOCUMENTED_EXAMPLES.items():
        example = _documented_example(document, heading)
        assert "async def test_" in example  # what used to fail: an async test, no asyncio_mode
        _fresh_project(pytester, module, example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *asyncio_plugin)
    result.assert_outcomes(passed=2 * len(DOCUMENTED_EXAMPLES))


RUN_TEST = """
from agentrig.testing import AgentrigReplay


async def test_a_run(agentrig_replay: AgentrigReplay) -> None:
    result = await agentrig_replay.run("plain", "closed-discharge-valve")
    assert result.status == "passed"
"""


def test_a_missing_run_cassette_fails_the_test_saying_how_to_record_it(
    pytester: pytest.Pytester,
) -> None:
    _fresh_project(pytester, "test_user", RUN_TEST)
    (pytester.path / "cassettes" / RUN_CASSETTE).unlink()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(failed=1)
    directory = pytester.path / "cassettes"
    # The failure line itself (-ra's summary), not only the captured log, says what to do.
    result.stdout.fnmatch_lines(
        [
            f"FAILED test_user.py::test_a_run - Failed: no cassette at {directory / RUN_CASSETTE}: "
            "record it with `agentrig record *`",
        ]
    )
    assert (
        f"no cassette at {directory / RUN_CASSETTE}: record it with `agentrig record -f plain "
        f"-s closed-discharge-valve --model reference --cassettes {directory}`"
    ) in result.stdout.str()
    assert "assert 'error' == 'passed'" not in result.stdout.str()


DRIFT_TESTS = """
import openai
import pytest

from agentrig.testing import AgentrigReplay

PUMP = "ALARM pump-07: tripped on high discharge pressure"


@pytest.mark.agentrig_cassette("two_questions.yaml")
def test_own_request_drifts(agentrig_replay: AgentrigReplay) -> None:
    client = openai.OpenAI(base_url="http://localhost:8765/v1", api_key="unused")  # retries: 2
    for alarm in (PUMP, "ALARM valve-12: stuck"):
        client.chat.completions.create(
            model="agentrig-operator", messages=[{"role": "user", "content": alarm}]
        )


async def test_a_run_drifts(agentrig_replay: AgentrigReplay) -> None:
    await agentrig_replay.run("plain", "closed-discharge-valve")
"""


def _mismatch_positions(output: str) -> list[str]:
    """The positions of the misses the player logged, in the console or the JSON format.

    (A run switches agentrig's logging to JSON; the console format is pytest's default.)
    """
    console = r"cassette mismatch .*position=(\d+)"
    json_line = r'"position": (\d+), "uri": "[^"]*", "event": "cassette mismatch"'
    return [a or b for a, b in re.findall(f"{console}|{json_line}", output)]


def test_a_drifted_request_fails_the_test_at_once_naming_that_request(
    pytester: pytest.Pytester,
) -> None:
    _fresh_project(pytester, "test_user", DRIFT_TESTS)
    cassettes = pytester.path / "cassettes"
    # The test's own cassette: the pump question twice; the second request asks about a valve.
    recording = OPERATOR_CASSETTE.read_text(encoding="utf-8")
    interaction = recording[recording.index("- request:") :]
    (cassettes / "two_questions.yaml").write_text(recording + interaction, encoding="utf-8")
    # The run's cassette: as if the diagnostician's prompt had changed since the recording.
    run_cassette = cassettes / RUN_CASSETTE
    recorded = run_cassette.read_text(encoding="utf-8")
    drifted = recorded.replace("You are the diagnostician", "You are the lead diagnostician")
    assert drifted != recorded
    run_cassette.write_text(drifted, encoding="utf-8")
    first_drift = next(
        index
        for index, request in enumerate(recorded.split("- request:")[1:])
        if "You are the diagnostician" in request
    )
    assert first_drift > 0

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    own = (
        f"no recorded response in {cassettes / 'two_questions.yaml'} matches request #1; if the "
        "change is intended, re-record it with `pytest test_user.py::test_own_request_drifts "
        "--agentrig-record-mode=all`"
    )
    run = f"no recorded response in {run_cassette} matches request #{first_drift};"
    result.stdout.fnmatch_lines(
        [
            f"FAILED test_user.py::test_own_request_drifts - Failed: {own}*",
            f"FAILED test_user.py::test_a_run_drifts - Failed: {run}*",
        ]
    )
    assert own in output
    assert run in output
    assert "+- content: 'ALARM valve-12: stuck'" in output
    # No client retry before failing: each drifted request was asked, and missed, once.
    sections = output.split("test_a_run_drifts ___")
    assert _mismatch_positions(sections[0]) == ["1"]
    assert _mismatch_positions(sections[1]) == [str(first_drift)]
