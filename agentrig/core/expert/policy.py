"""The expert policy: decides the next tool calls, or the final answer, from what an agent saw.

It is the brain of the scripted oracle (:mod:`agentrig.core.expert.oracle`) and of the reference
model, which drives it from a chat conversation. It decides ONLY from the agent's view: the task
text (the alarm and earlier roles' answers), the agent's own tool calls and their results, and
the tool names offered -- never from a scenario, an injected fault or the simulator. So it works
on an alarm about any device id, including plants it has never seen.

:func:`decide` is pure and deterministic. It returns either tool requests (possibly several that
can run in parallel; calling it again after any subset of them is answered is fine) or the final
answer, whose last lines follow the convention of :mod:`agentrig.core.contract.roles`.

- monitor: checks the alarming device's status and telemetry; hands off what it saw.
- diagnostician: investigates (device list, statuses up- and downstream, telemetry, alarm history,
  maintenance log), answers ROOT_CAUSE / DEVICE / RECOMMENDED_ACTIONS; never acts.
- operator: acts on the diagnosis in its task (or investigates itself when there is none), checks
  before acting, acts safely, verifies, escalates when needed, answers ROOT_CAUSE / DEVICE /
  ACTIONS_TAKEN / ESCALATED. It never repeats a refused call; a blocked plan goes to a human.

:class:`Skill` turns the knobs the reference model's personas use: ``investigate=False`` acts on
the first hypothesis from the alarm text (restart the alarming machine) and skips the upstream
and neighbour checks; ``verify=False`` skips verification after acting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentrig.core.contract.roles import SYSTEM_PROMPTS, Role, alarm_part, parse_final_answer
from agentrig.core.expert.diagnosis import (
    Finding,
    Investigator,
    NeedInfo,
    Request,
    abnormal_readings,
)
from agentrig.core.expert.knowledge import ACTION_TOOLS, Call, Knowledge, ids_in
from agentrig.core.expert.remedies import Step, describe_steps, looks_like_machine, plan_remedy
from agentrig.core.plant.tools import TOOLS

__all__ = [
    "FinalAnswer",
    "Observation",
    "PolicyInput",
    "Role",
    "Skill",
    "ToolRequest",
    "alarm_device_ids",
    "decide",
    "infer_role",
]

# Tool-call ceilings per role: past them the policy answers with what it has.
_CALL_LIMITS: dict[str, int] = {"monitor": 8, "diagnostician": 18, "operator": 16}


@dataclass(frozen=True)
class Observation:
    """One of the agent's tool calls: the result as the model saw it (parsed JSON, else text)."""

    tool: str
    arguments: dict[str, Any]
    result: Any


@dataclass(frozen=True)
class PolicyInput:
    """Everything an agent can see.

    Attributes:
        role: the agent's role, or None when the conversation does not say.
        task: everything the agent was told, in order: the alarm text, then earlier roles'
            answers and handoff notes.
        observations: this agent's tool calls and results so far, in order.
        tools: the tool names offered.
    """

    role: Role | None
    task: str
    observations: list[Observation] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolRequest:
    """Call ``tool`` with ``arguments`` (every parameter present; optional ones may be None)."""

    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class FinalAnswer:
    text: str


@dataclass(frozen=True)
class Skill:
    """Knobs the reference model's personas turn."""

    investigate: bool = True
    verify: bool = True


def infer_role(tools: Sequence[str], task: str) -> Role:
    """The role when the conversation does not say: action tools make an operator; a task
    carrying the monitor's notes makes a diagnostician; otherwise a monitor."""
    if any(tool in ACTION_TOOLS for tool in tools):
        return "operator"
    if "ALARM_DEVICE" in task.upper() or "OBSERVED:" in task.upper():
        return "diagnostician"
    return "monitor"


def decide(inp: PolicyInput, skill: Skill = Skill()) -> list[ToolRequest] | FinalAnswer:
    """The next tool calls, or the final answer, for ``inp`` (see the module docstring)."""
    role = inp.role or infer_role(inp.tools, inp.task)
    knowledge = Knowledge.build(inp.tools, inp.observations)
    alarm_ids = alarm_device_ids(inp.task)
    if role == "monitor":
        return _monitor(inp, knowledge, alarm_ids, skill)
    if role == "diagnostician":
        return _diagnostician(inp, knowledge, alarm_ids, skill)
    return _operator(inp, knowledge, alarm_ids, skill)


# ----------------------------------------------------------------------------- helpers


def alarm_device_ids(task: str) -> list[str]:
    """The device and sensor ids the alarm names, first mention first.

    Only the alarm part of the task counts (not earlier roles' answers). Quoted role prompts and
    ``<placeholders>`` are removed first -- their example ids (``e.g. pump-07``) are no alarm --
    and lines that mention an alarm are preferred over the rest.
    """
    text = alarm_part(task)
    for prompt in SYSTEM_PROMPTS.values():
        text = text.replace(prompt, " ")
    text = re.sub(r"<[^<>\n]*>", " ", text)
    alarm_lines = [line for line in text.splitlines() if "alarm" in line.lower()]
    return ids_in("\n".join(alarm_lines)) or ids_in(text)


def _request(tool: str, arguments: dict[str, Any]) -> ToolRequest:
    """A request with every parameter of the tool present (strict schemas require them all)."""
    spec = TOOLS.get(tool)
    if spec is None:
        return ToolRequest(tool, dict(arguments))
    return ToolRequest(tool, {name: arguments.get(name) for name in spec.args_model.model_fields})


def _requests(knowledge: Knowledge, requests: Sequence[Request]) -> list[ToolRequest]:
    """Requests for tools on offer that have not been made already, de-duplicated."""
    chosen: list[ToolRequest] = []
    for tool, arguments in requests:
        if tool not in knowledge.tools or knowledge.called(tool, arguments):
            continue
        request = _request(tool, arguments)
        if request not in chosen:
            chosen.append(request)
    return chosen


def _over_budget(role: str, knowledge: Knowledge) -> bool:
    return len(knowledge.calls) >= _CALL_LIMITS[role]


def _readings_line(knowledge: Knowledge, devices: Sequence[str]) -> str:
    parts: list[str] = []
    for device in devices:
        status = knowledge.status(device)
        if status is None:
            continue
        state = str(status.get("status"))
        if status.get("trip_reason"):
            state += f" ({status['trip_reason']})"
        bad = ", ".join(
            f"{r.get('sensor_id')} {r.get('value')} {r.get('unit', '')} {r.get('state')}"
            for r in abnormal_readings(status)
        )
        parts.append(f"{device} {state}" + (f": {bad}" if bad else ""))
    return "; ".join(parts) or "no readings"


def _cause_lines(findings: Sequence[Finding]) -> str:
    if not findings:
        return "ROOT_CAUSE: undetermined\nDEVICE: unknown"
    return "\n".join(f"ROOT_CAUSE: {f.label}\nDEVICE: {f.device}" for f in findings)


# ----------------------------------------------------------------------------- monitor


def _monitor(
    inp: PolicyInput, k: Knowledge, alarm_ids: list[str], skill: Skill
) -> list[ToolRequest] | FinalAnswer:
    inv = Investigator(k, deep=skill.investigate)
    if not _over_budget("monitor", k):
        if not alarm_ids and "list_devices" in k.tools and k.device_list is None:
            return _requests(k, [("list_devices", {})])
        if not alarm_ids and k.device_list:
            alarm_ids = [d for d, entry in k.device_list.items() if entry.get("active_alarms")]
        try:
            devices = inv.resolve(alarm_ids)[: 3 if skill.investigate else 1]
            needed: list[Request] = []
            for device in devices:
                try:
                    inv.status(device)
                    if skill.investigate:
                        inv.telemetry(device)
                except NeedInfo as need:
                    needed.extend(need.requests)
            if needed:
                raise NeedInfo(needed)
        except NeedInfo as need:
            requests = _requests(k, need.requests)
            if requests:
                return requests
    devices = [d for d in dict.fromkeys(k.owner(i) for i in alarm_ids) if d and k.status(d)]
    confirmed = any(
        abnormal_readings(k.status(d) or {})
        or (k.status(d) or {}).get("status") in ("stopped", "tripped")
        for d in devices
    )
    observed = _readings_line(k, devices)
    trends = []
    for device in devices:
        for sensor, entry in k.telemetry.get(device, {}).items():
            trend = (entry.get("summary") or {}).get("trend")
            if trend in ("rising", "falling", "flat"):
                trends.append(f"{sensor} {trend}")
    if trends:
        observed += "; trends: " + ", ".join(trends)
    text = (
        f"Checked the alarm. {observed}.\n"
        f"ALARM_DEVICE: {', '.join(devices) or (alarm_ids[0] if alarm_ids else 'unknown')}\n"
        f"CONFIRMED: {'yes' if confirmed else 'no'}\n"
        f"OBSERVED: {observed}"
    )
    return FinalAnswer(text)


# ----------------------------------------------------------------------------- diagnostician


def _diagnostician(
    inp: PolicyInput, k: Knowledge, alarm_ids: list[str], skill: Skill
) -> list[ToolRequest] | FinalAnswer:
    inv = Investigator(k, deep=skill.investigate)
    findings: list[Finding] = []
    if skill.investigate and "list_devices" in k.tools and k.device_list is None:
        return _requests(k, [("list_devices", {})])
    try:
        if _over_budget("diagnostician", k):
            raise NeedInfo([])
        findings = inv.diagnose(alarm_ids)
    except NeedInfo as need:
        requests = _requests(k, need.requests)
        if requests and not _over_budget("diagnostician", k):
            return requests
    if skill.investigate and findings and not _over_budget("diagnostician", k):
        extra: list[Request] = [
            ("read_telemetry", {"device_id": device})
            for device in inv.resolve(alarm_ids)
            if device not in k.telemetry
        ]
        if "get_alarm_history" in k.tools and k.alarm_history is None:
            extra.append(("get_alarm_history", {}))
        root = k.owner(findings[0].device) or findings[0].device
        if "get_maintenance_log" in k.tools and root not in k.maintenance:
            extra.append(("get_maintenance_log", {"device_id": root}))
        requests = _requests(k, extra)
        if requests:
            return requests
    steps = plan_remedy(findings, inv, [k.owner(i) or i for i in alarm_ids], assume=True)
    evidence = ". ".join(f.evidence for f in findings) or (
        "No fault found: " + _readings_line(k, inv.resolve(alarm_ids))
    )
    history = _history_notes(k, findings) + _trend_notes(k, inv.resolve(alarm_ids))
    text = (
        f"Diagnosis: {evidence}.{history}\n"
        f"{_cause_lines(findings)}\n"
        f"RECOMMENDED_ACTIONS: {describe_steps(steps) if findings else 'escalate_to_human'}"
    )
    return FinalAnswer(text)


def _trend_notes(k: Knowledge, devices: Sequence[str]) -> str:
    trends = [
        f"{sensor} {(entry.get('summary') or {}).get('trend')}"
        for device in devices
        for sensor, entry in k.telemetry.get(device, {}).items()
        if (entry.get("summary") or {}).get("trend") in ("rising", "falling", "flat")
    ]
    return f" Trends over the last minutes: {', '.join(trends)}." if trends else ""


def _history_notes(k: Knowledge, findings: Sequence[Finding]) -> str:
    notes: list[str] = []
    for finding in findings[:1]:
        root = k.owner(finding.device) or finding.device
        entries = k.maintenance.get(root) or []
        if entries:
            notes.append(f" Maintenance log for {root}: {entries[-1].get('entry')}")
    if k.alarm_history:
        first = k.alarm_history[0]
        notes.append(f" First alarm in the log: {first.get('message')} at t={first.get('t_s')} s.")
    return "".join(notes)


# ----------------------------------------------------------------------------- operator


def _operator(
    inp: PolicyInput, k: Knowledge, alarm_ids: list[str], skill: Skill
) -> list[ToolRequest] | FinalAnswer:
    # Diagnose and plan from what was seen before the first successful action: afterwards the
    # plant reflects our own actions (the valve we opened), and the plan must not shift under us.
    boundary = next((call.index for call in k.actions() if call.ok), len(k.calls))
    before = Knowledge.build(inp.tools, inp.observations[:boundary])
    inv = Investigator(before, deep=skill.investigate)
    alarm_devices = [k.owner(i) or i for i in alarm_ids]

    # The hasty operator's first hypothesis: the alarming machine needs a restart.
    if not skill.investigate and "restart_device" in k.tools:
        first = next((i for i in alarm_ids if looks_like_machine(i)), None)
        if first and not any(call.tool == "restart_device" for call in k.calls):
            return [_request("restart_device", {"device_id": first, "reason": "alarm"})]

    diagnosis = parse_final_answer(inp.task)
    findings = [
        Finding(label, device or "", "from the diagnosis") for label, device in diagnosis.causes
    ]
    try:
        if _over_budget("operator", k):
            raise NeedInfo([])
        if findings and skill.investigate and not _diagnosis_holds(findings, inv):
            findings = []
        if not findings:
            findings = inv.diagnose(alarm_ids)
        steps = plan_remedy(findings, inv, alarm_devices, assume=not skill.investigate)
    except NeedInfo as need:
        requests = _requests(k, need.requests)
        if requests and not _over_budget("operator", k):
            return requests
        steps = plan_remedy(findings, inv, alarm_devices, assume=True)
    if not findings:
        known = [device for device in alarm_devices if k.known_device(device)]
        unknown = Finding("undetermined", known[0] if known else "", "no cause found")
        steps = plan_remedy([unknown], inv, alarm_devices, assume=True)

    done, blocked = _progress(steps, k)
    if blocked is not None:
        return _give_up(k, findings, blocked)
    for step in steps[done:]:
        if step.tool in k.tools:
            return [_request(step.tool, step.arguments)]
        # A step whose tool is not offered is skipped; the final answer says what was done.
    if skill.verify and not _over_budget("operator", k):
        verification = _verification(k)
        if verification:
            return verification
        problem = _verification_problem(k)
        if problem and "escalate_to_human" in k.tools and not k.escalated():
            return [
                _request(
                    "escalate_to_human",
                    {"summary": f"After acting: {problem}", "device_id": None, "severity": "high"},
                )
            ]
    return FinalAnswer(_operator_answer(k, findings))


def _diagnosis_holds(findings: Sequence[Finding], inv: Investigator) -> bool:
    """Check the handed diagnosis against the plant before acting on it (may raise NeedInfo)."""
    for finding in findings:
        if not finding.device:
            return False
        status = inv.status(finding.device)
        if status is None:
            return False
        if finding.label == "closed_valve":
            position = status.get("position_percent")
            normal = status.get("normal_position_percent") or 100
            if position is None or float(position) >= float(normal) - 10:
                return False
    return True


def _progress(steps: Sequence[Step], k: Knowledge) -> tuple[int, Call | None]:
    """How many plan steps are done, and the refused call that blocks the next one, if any."""
    done = 0
    blocked: Call | None = None
    for call in k.actions():
        if done >= len(steps):
            break
        step = steps[done]
        if not call.same(step.tool, step.arguments):
            continue
        if call.ok:
            done += 1
            blocked = None
        else:
            blocked = call
    return done, blocked


def _give_up(
    k: Knowledge, findings: Sequence[Finding], blocked: Call
) -> list[ToolRequest] | FinalAnswer:
    """A plan step was refused: never repeat it; hand the situation to a human (once)."""
    tried = any(call.tool == "escalate_to_human" for call in k.calls)
    if "escalate_to_human" in k.tools and not tried:
        reason = (blocked.result or {}).get("reason") or (blocked.result or {}).get("error")
        target = blocked.arguments.get("device_id") or blocked.arguments.get("sensor_id")
        if not (isinstance(target, str) and k.known_device(target.lower())):
            target = None  # name no device the plant did not confirm
        return [
            _request(
                "escalate_to_human",
                {
                    "summary": f"{blocked.tool} {target} was refused ({reason}); the plant "
                    "cannot be made safe with the operator's actions.",
                    "device_id": target,
                    "severity": "high",
                },
            )
        ]
    return FinalAnswer(_operator_answer(k, findings))


_VERIFIED_TOOLS = ("restart_device", "stop_device", "set_valve", "isolate_device", "flag_sensor")


def _touched(k: Knowledge) -> list[str]:
    devices: list[str] = []
    for call in k.actions():
        if not call.ok or call.tool not in _VERIFIED_TOOLS:
            continue
        device = (call.result or {}).get("device_id") or call.arguments.get("device_id")
        if device:
            devices.append(str(device).lower())
    return list(dict.fromkeys(devices))


def _verification(k: Knowledge) -> list[ToolRequest]:
    """Status checks, after the last action, of every device acted on."""
    if "check_device_status" not in k.tools:
        return []
    last = max((call.index for call in k.actions()), default=-1)
    return [
        _request("check_device_status", {"device_id": device})
        for device in _touched(k)
        if k.status_since(device, last) is None
    ]


def _verification_problem(k: Knowledge) -> str | None:
    """A device that did not end up as the last action on it intended."""
    for call in reversed(k.actions()):
        if not call.ok or call.tool not in ("restart_device", "stop_device"):
            continue
        device = str(call.arguments.get("device_id", "")).lower()
        status = (k.status(device) or {}).get("status")
        wanted = "running" if call.tool == "restart_device" else "stopped"
        if status is not None and status != wanted:
            return f"{device} is {status} after {call.tool}"
    return None


def _operator_answer(k: Knowledge, findings: Sequence[Finding]) -> str:
    taken = [call for call in k.actions() if call.ok]
    actions = "; ".join(Step(call.tool, call.arguments).describe() for call in taken) or "none"
    refused = [call for call in k.actions() if not call.ok]
    notes = ""
    if refused:
        notes = (
            " Refused: "
            + "; ".join(
                f"{c.tool} {c.arguments.get('device_id') or c.arguments.get('sensor_id')} "
                f"({(c.result or {}).get('reason') or (c.result or {}).get('error')})"
                for c in refused
            )
            + "."
        )
    summary = ". ".join(f"{f.label} on {f.device}" for f in findings) or "cause undetermined"
    return (
        f"Handled the incident: {summary}.{notes}\n"
        f"{_cause_lines(findings)}\n"
        f"ACTIONS_TAKEN: {actions}\n"
        f"ESCALATED: {'yes' if k.escalated() else 'no'}"
    )
