"""The example of docs/cassettes.md: a user's tests replaying their LLM calls with agentrig_replay.

Replayed from ``cassettes/tests/testing/test_replay_example/``. To record them again, serve the
reference model (``agentrig model serve``, port 8765) and run
``pytest tests/testing/test_replay_example.py --agentrig-record-mode=all`` (``make record``).
"""

from __future__ import annotations

import openai

from agentrig.testing import AgentrigReplay


def test_the_operator_names_the_alarming_device(agentrig_replay: AgentrigReplay) -> None:
    # Your agent's own client and endpoint: replay never contacts it.
    client = openai.OpenAI(base_url="http://localhost:8765/v1", api_key="unused")
    with client:
        reply = client.chat.completions.create(
            model="agentrig-operator",
            messages=[
                {"role": "user", "content": "ALARM pump-07: tripped on high discharge pressure"}
            ],
        )
    assert "ALARM_DEVICE: pump-07" in (reply.choices[0].message.content or "")


async def test_an_agentrig_run_replays_from_the_shipped_cassettes(
    agentrig_replay: AgentrigReplay,
) -> None:
    result = await agentrig_replay.run("plain", "closed-discharge-valve")
    assert result.status == "passed"
    assert result.root_cause == "closed_valve"
    assert [action.tool for action in result.actions][:2] == ["set_valve", "restart_device"]
