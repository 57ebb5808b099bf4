"""The agentrig pytest plugin as a user meets it: a fresh project, pytest in a subprocess.

One run records a test's cassette against a live reference model; the next replays it with the
model gone, fails a test whose request drifted (with the diff), fails a test whose cassette is
missing (saying how to record it), and fails a test that reaches a live model under the guard.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agentrig.core.llm.serving import ReferenceModelServer

pytest_plugins = ["pytester"]

USER_TESTS = textwrap.dedent(
    """
    import os

    import openai
    import pytest


    def ask(alarm):
        client = openai.OpenAI(base_url=os.environ["MODEL_URL"], api_key="unused", max_retries=0)
        with client:
            reply = client.chat.completions.create(
                model="agentrig-operator", messages=[{"role": "user", "content": alarm}]
            )
        return reply.choices[0].message.content


    def test_operator_answers(agentrig_replay):
        assert "ALARM_DEVICE" in ask("ALARM pump-07: tripped on high discharge pressure")


    @pytest.mark.agentrig_cassette("test_user/test_operator_answers.yaml")
    def test_drifted_request(agentrig_replay):
        ask("ALARM valve-12: stuck")


    def test_never_recorded(agentrig_replay):
        ask("ALARM tank-02: low level")


    def test_live_without_a_cassette():
        ask("ALARM pump-07: tripped on high discharge pressure")


    @pytest.mark.allow_model_requests
    def test_live_on_purpose():
        ask("ALARM pump-07: tripped on high discharge pressure")
    """
)


@pytest.mark.slow
@pytest.mark.allow_model_requests  # it records against a reference model server it starts
def test_record_once_then_replay_offline_with_drift_and_guard(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.makeini("[pytest]\nagentrig_block_model_requests = true\n")
    with ReferenceModelServer() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("MODEL_URL", server.base_url)
        recording = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agentrig-record-mode=once", "-k", "operator_answers"
        )
        recording.assert_outcomes(passed=1)
        live_url = server.base_url
    cassette = Path(pytester.path, "cassettes", "test_user", "test_operator_answers.yaml")
    assert cassette.is_file()
    assert "ALARM pump-07: tripped on high discharge pressure" in cassette.read_text()

    # The model is gone (its port closed): only the cassette can answer now.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MODEL_URL", live_url)
        replay = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf")
    replay.assert_outcomes(passed=1, failed=4)
    output = replay.stdout.str()
    # test_drifted_request: the cassette, the position, how to re-record, and the diff.
    assert (
        f"no recorded response in {cassette} matches request #0; if the change is intended, "
        "re-record it with `pytest test_user.py::test_drifted_request --agentrig-record-mode=all`"
    ) in output
    assert "-- content: 'ALARM pump-07: tripped on high discharge pressure'" in output
    assert "+- content: 'ALARM valve-12: stuck'" in output
    missing = Path(pytester.path, "cassettes", "test_user", "test_never_recorded.yaml")
    assert (
        f"no cassette at {missing}: record it with `pytest test_user.py::test_never_recorded "
        "--agentrig-record-mode=once`" in output
    )
    assert "live model request blocked: POST" in output  # test_live_without_a_cassette
    # test_live_on_purpose is let through by the guard and fails only because the model is gone.
    assert "FAILED test_user.py::test_live_on_purpose - openai.APIConnectionError" in output
