"""Hand-made run results and steps for the report tests: exact values, several frameworks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentrig.core.contract.results import ActionRecord, CheckGrade, RunResult, RunStatus
from agentrig.core.telemetry.normalise import RoleSegment, RunTrace, Step


def llm(role: str, start_s: float = 0.0, **fields: Any) -> Step:
    return Step(
        kind="llm",
        role=role,
        name="chat m",
        span_id=f"llm-{role}-{start_s}",
        source="openai-v2",
        start_s=start_s,
        duration_s=fields.pop("duration_s", 0.05),
        model=fields.pop("model", "m"),
        input_tokens=fields.pop("input_tokens", 100),
        output_tokens=fields.pop("output_tokens", 10),
        **fields,
    )


def tool(role: str, name: str, start_s: float = 0.0, **arguments: Any) -> Step:
    return Step(
        kind="tool",
        role=role,
        name=f"execute_tool {name}",
        span_id=f"tool-{role}-{name}-{start_s}",
        source="agentrig",
        start_s=start_s,
        duration_s=0.002,
        tool=name,
        arguments=arguments,
        status="ok",
    )


def run_trace(run_id: str, framework: str, scenario: str, steps: list[Step]) -> RunTrace:
    """A normalised run from steps, one role segment per run of equal roles."""
    segments: list[RoleSegment] = []
    for step in steps:
        if segments and segments[-1].role == step.role:
            segments[-1].steps.append(step)
        else:
            segments.append(
                RoleSegment(role=step.role, start_s=step.start_s, duration_s=0.0, steps=[step])
            )
    for segment in segments:
        last = segment.steps[-1]
        segment.duration_s = last.start_s + last.duration_s - segment.start_s
    llm_steps = [s for s in steps if s.kind == "llm"]
    end = max((s.start_s + s.duration_s for s in steps), default=0.0)
    return RunTrace(
        run_id=run_id,
        framework=framework,
        scenario=scenario,
        workflow="maintenance",
        trace_ids=["0" * 32],
        start_unix_nano=0,
        duration_s=end + 0.01,
        status="ok",
        roles=segments,
        llm_calls=len(llm_steps),
        tool_calls=len(steps) - len(llm_steps),
        input_tokens=sum(s.input_tokens or 0 for s in llm_steps),
        output_tokens=sum(s.output_tokens or 0 for s in llm_steps),
        llm_seconds=sum(s.duration_s for s in llm_steps),
        errors=sum(1 for s in steps if s.error),
    )


def result(
    framework: str,
    scenario: str,
    repeat: int,
    status: RunStatus,
    **fields: Any,
) -> RunResult:
    """A RunResult with plausible defaults; ``fields`` override any of them."""
    passed = status == "passed"
    values: dict[str, Any] = {
        "run_id": f"s-{framework}-{scenario}-r{repeat}",
        "framework": framework,
        "framework_version": f"{framework} 1.0",
        "scenario": scenario,
        "model": "reference",
        "repeat": repeat,
        "status": status,
        "score": 1.0 if passed else 0.5,
        "grades": [
            CheckGrade(name="fault_resolved", passed=passed, detail="checked"),
            CheckGrade(name="root_cause", passed=True, detail="named"),
        ],
        "root_cause": "closed_valve",
        "device": "valve-12",
        "actions": [
            ActionRecord(role="operator", tool="set_valve", args={"device_id": "valve-12"}, ok=True)
        ],
        "llm_calls": 10,
        "input_tokens": 20_000,
        "output_tokens": 400,
        "tool_calls": 9,
        "wall_seconds": 1.0,
        "llm_seconds": 0.5,
        "final_report": "ROOT_CAUSE: closed_valve",
        "started_at": datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    }
    values.update(fields)
    return RunResult(**values)


def several_frameworks() -> list[RunResult]:
    """Four frameworks x two scenarios x two repeats with every status, faults and violations."""
    results = []
    for framework, walls in {
        "plain": (0.2, 0.3, 0.25, 0.4),
        "langchain": (1.1, 1.4, 1.2, 2.0),
        "autogen": (0.9, 1.0, 3.5, 1.1),
        "crewai": (2.5, 2.2, 2.9, 6.0),
    }.items():
        for index, (scenario, repeat) in enumerate(
            [
                ("closed-discharge-valve", 0),
                ("closed-discharge-valve", 1),
                ("blocked-discharge", 0),
                ("blocked-discharge", 1),
            ]
        ):
            status: RunStatus = "passed"
            extra: dict[str, Any] = {}
            if framework == "autogen" and scenario == "blocked-discharge":
                status = "failed" if repeat == 0 else "error"
                extra = (
                    {"errors": ["APITimeoutError: timed out"], "llm_errors": 1} if repeat else {}
                )
            if framework == "crewai" and (scenario, repeat) == ("blocked-discharge", 0):
                status, extra = "failed", {"safety_violations": 2}
            results.append(
                result(
                    framework,
                    scenario,
                    repeat,
                    status,
                    wall_seconds=walls[index],
                    llm_calls=10 + index + len(framework),
                    input_tokens=20_000 + 1000 * index,
                    output_tokens=400 + index,
                    retries=index if framework != "plain" else 0,
                    **extra,
                )
            )
    return results
