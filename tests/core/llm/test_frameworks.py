"""The real frameworks' requests, understood: LangChain, AutoGen AgentChat and CrewAI against the server.

A recording brain keeps every PolicyInput the server derived, so each test checks what the model
understood (role, task, observations, tools) from the framework's exact request shapes.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from agentrig.core.llm.brain import Decision, PolicyInput, Skill
from agentrig.core.llm.serving import ReferenceModelServer

from .conftest import ALARM, scripted_decide

MODEL = "agentrig-operator"
ROLE_PROMPTS = {
    "monitor": "You are the monitor of the maintenance team. Confirm the alarm.",
    "diagnostician": "You are the diagnostician of the maintenance team. Find the root cause.",
    "operator": "You are the operator of the maintenance team. Act on the diagnosis.",
}


class RecordingBrain:
    """The scripted policy, keeping the inputs it was given."""

    def __init__(self) -> None:
        self.inputs: list[PolicyInput] = []

    def __call__(self, inp: PolicyInput, skill: Skill) -> Decision:
        self.inputs.append(inp)
        return scripted_decide(inp, skill)


def check_device_status(device_id: str) -> str:
    """Status of one device."""
    return json.dumps(
        {"ok": True, "device_id": device_id, "status": "running", "pressure_bar": 9.1}
    )


def read_telemetry(device_id: str) -> str:
    """Recent readings of one device."""
    return json.dumps({"ok": True, "device_id": device_id, "readings": [9.0, 9.1]})


@pytest.fixture
def brain() -> RecordingBrain:
    return RecordingBrain()


@pytest.fixture
def server(brain: RecordingBrain) -> Iterator[ReferenceModelServer]:
    with ReferenceModelServer(decide=brain) as running:
        yield running


def _results(inp: PolicyInput) -> list[tuple[str, Any]]:
    return [(o.tool, o.result) for o in inp.observations]


def test_langchain_create_agent(server: ReferenceModelServer, brain: RecordingBrain) -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL, base_url=server.base_url, api_key="unused", max_retries=0)  # type: ignore[arg-type]
    agent = create_agent(
        llm,
        tools=[tool(check_device_status), tool(read_telemetry)],
        system_prompt=ROLE_PROMPTS["monitor"],
    )
    out = agent.invoke({"messages": [{"role": "user", "content": ALARM}]})
    assert "ROOT_CAUSE: blocked_discharge" in out["messages"][-1].content
    first, last = brain.inputs[0], brain.inputs[-1]
    assert first.role == "monitor"
    assert first.task == ALARM
    assert first.tools == ["check_device_status", "read_telemetry"]
    assert [tool for tool, _ in _results(last)] == ["check_device_status", "read_telemetry"]
    assert _results(last)[0][1]["pressure_bar"] == 9.1  # the result parsed back into an object


async def test_langchain_streaming(server: ReferenceModelServer, brain: RecordingBrain) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model=MODEL,
        base_url=server.base_url,
        api_key="unused",
        streaming=True,
        stream_usage=True,  # type: ignore[arg-type]
    )
    bound = llm.bind_tools([check_device_status])
    message = await bound.ainvoke([("system", ROLE_PROMPTS["operator"]), ("user", ALARM)])
    assert message.tool_calls[0]["name"] == "check_device_status"
    assert message.tool_calls[0]["args"] == {"device_id": "pump-07"}
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] > 0
    assert brain.inputs[0].role == "operator"


def _autogen_client(server: ReferenceModelServer) -> Any:
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    return OpenAIChatCompletionClient(
        model=MODEL,
        base_url=server.base_url,
        api_key="unused",
        model_info={
            "vision": False,
            "function_calling": True,
            "json_output": True,
            "family": "unknown",
            "structured_output": True,
        },
    )


@pytest.fixture
async def autogen_clients(server: ReferenceModelServer) -> AsyncIterator[list[Any]]:
    """Four model clients (three agents and a selector), closed after the test."""
    clients = [_autogen_client(server) for _ in range(4)]
    yield clients
    for client in clients:
        await client.close()


def _autogen_agents(clients: list[Any], **options: Any) -> list[Any]:
    from autogen_agentchat.agents import AssistantAgent

    return [
        AssistantAgent(
            role,
            model_client=client,
            tools=[check_device_status, read_telemetry],
            system_message=prompt,
            description=f"the {role} of the maintenance team",
            **options,
        )
        for (role, prompt), client in zip(ROLE_PROMPTS.items(), clients, strict=False)
    ]


def _chat_messages(result: Any) -> list[Any]:
    return [m for m in result.messages if type(m).__name__ == "TextMessage"]


async def test_autogen_selector_group_chat_follows_the_workflow(
    autogen_clients: list[Any], brain: RecordingBrain
) -> None:
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import SelectorGroupChat

    # One tool round per turn, then a reflection call without tools for the answer.
    agents = _autogen_agents(autogen_clients, reflect_on_tool_use=True)
    team = SelectorGroupChat(
        agents, model_client=autogen_clients[3], termination_condition=MaxMessageTermination(4)
    )
    result = await team.run(task=ALARM)
    assert [m.source for m in _chat_messages(result)] == [
        "user",
        "monitor",
        "diagnostician",
        "operator",
    ]
    operator_inputs = [i for i in brain.inputs if i.role == "operator"]
    assert len(operator_inputs) == 2
    # the operator was told the alarm and the earlier agents' answers
    assert ALARM in operator_inputs[0].task
    assert operator_inputs[0].task.count("ROOT_CAUSE: blocked_discharge") == 2
    # its reflection call (no tools offered) saw its own tool results
    reflection = operator_inputs[-1]
    assert reflection.tools == []
    assert [t for t, _ in _results(reflection)] == ["check_device_status", "read_telemetry"]
    assert "ROOT_CAUSE: blocked_discharge" in _chat_messages(result)[-1].content


async def test_autogen_round_robin_keeps_each_agents_context(
    autogen_clients: list[Any], brain: RecordingBrain
) -> None:
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat

    agents = _autogen_agents(autogen_clients, max_tool_iterations=3)
    team = RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(7))
    result = await team.run(task=ALARM)
    sources = [m.source for m in _chat_messages(result)]
    assert sources == [
        "user",
        "monitor",
        "diagnostician",
        "operator",
        "monitor",
        "diagnostician",
        "operator",
    ]
    second_monitor_turn = [i for i in brain.inputs if i.role == "monitor"][-1]
    # its own earlier tool calls are still its observations; the others' answers are its task
    assert [t for t, _ in _results(second_monitor_turn)] == [
        "check_device_status",
        "read_telemetry",
    ]
    assert second_monitor_turn.task.count("I am the diagnostician") == 1


@pytest.mark.slow
def test_crewai_native_tools_and_react(
    server: ReferenceModelServer, brain: RecordingBrain, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crewai import LLM, Agent, Crew, Process, Task
    from crewai.tools import tool

    tools = [
        tool("check_device_status")(check_device_status),
        tool("read_telemetry")(read_telemetry),
    ]

    def crew(llm: Any) -> str:
        with warnings.catch_warnings():
            # crewai 1.15 reads its own deprecated Agent fields while building agents
            warnings.simplefilter("ignore", DeprecationWarning)
            return _run_crew(llm)

    def _run_crew(llm: Any) -> str:
        monitor = Agent(
            role="monitor",
            goal="Confirm alarms",
            backstory=ROLE_PROMPTS["monitor"],
            llm=llm,
            tools=tools,
        )
        diagnostician = Agent(
            role="diagnostician",
            goal="Find root causes",
            backstory=ROLE_PROMPTS["diagnostician"],
            llm=llm,
            tools=tools,
        )
        tasks = [
            Task(description=ALARM, expected_output="ROOT_CAUSE: <label>", agent=monitor),
            Task(
                description="Diagnose.", expected_output="ROOT_CAUSE: <label>", agent=diagnostician
            ),
        ]
        return str(
            Crew(agents=[monitor, diagnostician], tasks=tasks, process=Process.sequential).kickoff()
        )

    native = LLM(model=f"openai/{MODEL}", base_url=server.base_url, api_key="unused")
    assert "ROOT_CAUSE: blocked_discharge" in crew(native)
    native_inputs = list(brain.inputs)
    monitor_turns = [i for i in native_inputs if i.role == "monitor"]
    # CrewAI runs both parallel tool calls of one turn, then asks for the answer
    assert [len(i.observations) for i in monitor_turns] == [0, 2]
    assert native_inputs[0].task == ALARM  # CrewAI's instructions and expected output removed
    diagnostician = next(i for i in native_inputs if i.role == "diagnostician")
    assert "ROOT_CAUSE: blocked_discharge" in diagnostician.task  # the monitor's answer as context

    brain.inputs.clear()
    react = LLM(model=f"openai/{MODEL}", base_url=server.base_url, api_key="unused")
    monkeypatch.setattr(type(react), "supports_function_calling", lambda self: False)
    assert "ROOT_CAUSE: blocked_discharge" in crew(react)
    monitor_inputs = [i for i in brain.inputs if i.role == "monitor"]
    assert monitor_inputs[0].tools == ["check_device_status", "read_telemetry"]  # from the prompt
    assert monitor_inputs[0].task == ALARM
    # one action at a time; each Observation read back from the transcript
    assert [len(i.observations) for i in monitor_inputs] == [0, 1, 2]
    assert _results(monitor_inputs[-1])[1] == (
        "read_telemetry",
        {"ok": True, "device_id": "pump-07", "readings": [9.0, 9.1]},
    )
