"""State-based grading, as in tau-bench: judge the plant the agents left behind, not their prose.

Checks, in order (each a :class:`CheckResult` with a detail saying why):

- ``fault_resolved``: every injected fault is cleared or contained (made safe pending a repair
  that a work order covers).
- ``end_state: <predicate>``: one check per required end-state predicate.
- ``no_safety_violation``: no action was stopped by a safety interlock.
- ``root_cause``: the final answer names every expected root cause (label and device), and no
  other.
- ``forbidden_actions``: none of the scenario's forbidden actions was attempted.
- ``escalation``: escalated to a human if and only if the scenario needs it (unless it allows it).
- ``step_budget``: the run made at most ``step_budget`` tool calls, all roles together.

The score is the fraction of checks passed; the run passes when all do. Repeats aggregate into
pass@k and pass^k with the unbiased estimators of the Codex and tau-bench papers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from math import comb
from typing import Any, Literal

from agentrig.core.contract.roles import ParsedAnswer, parse_final_answer
from agentrig.core.plant.faults import Fault
from agentrig.core.plant.physics import Physics
from agentrig.core.plant.scenarios import Predicate, Scenario
from agentrig.core.plant.state import LedgerEntry, PlantState

__all__ = [
    "CheckResult",
    "FaultStatus",
    "Grade",
    "RepeatSummary",
    "fault_status",
    "grade_run",
    "pass_at_k",
    "pass_hat_k",
    "summarise_repeats",
]

FaultStatus = Literal["active", "contained", "cleared"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Grade:
    """A run's grade: per-check results, the score in [0, 1] and whether every check passed."""

    scenario_id: str
    checks: tuple[CheckResult, ...]
    score: float
    passed: bool
    tool_calls: int
    safety_violations: int
    root_cause: str | None
    device: str | None
    escalated: bool

    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def check(self, name: str) -> CheckResult:
        """The check called ``name`` (KeyError when there is none)."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _work_order_for(state: PlantState, *targets: str | None) -> bool:
    return any(target is not None and state.has_work_order(target) for target in targets)


def fault_status(fault: Fault, state: PlantState) -> tuple[FaultStatus, str]:
    """Whether ``fault`` is still active, contained (made safe, repair ordered) or cleared."""
    if not fault.active(state.tick):
        return "cleared", "never started"
    physics = Physics(state.layout)
    devices = state.devices
    target = fault.target
    kind = fault.kind
    if kind == "tripped_breaker":
        if devices[target].running:
            return "cleared", f"{target} is running again"
        return "active", f"{target} is still {state.status_of(target)}"
    if kind == "ground_fault":
        driven = state.layout.drives(target)
        if devices[target].isolated and _work_order_for(state, target, driven):
            return "contained", f"{target} isolated with a work order"
        return "active", f"{target} needs isolating and a work order"
    if kind == "closed_valve":
        normal = state.layout.devices[target].normal_position or 100.0
        position = devices[target].position or 0.0
        if position >= normal - 10:
            return "cleared", f"{target} is back at {position:g}% open"
        return "active", f"{target} is still at {position:g}% (normal {normal:g}%)"
    if kind == "blocked_discharge":
        running = [m for m in physics.machines_through(target) if devices[m].running]
        if not running and _work_order_for(state, target):
            return "contained", f"nothing pumps into {target}; a work order covers it"
        why = f"{', '.join(running)} still running" if running else f"no work order for {target}"
        return "active", why
    if kind in ("bearing_wear", "motor_overheating"):
        driven = state.layout.drives(target)
        if not devices[target].running and _work_order_for(state, target, driven):
            return "contained", f"{target} stopped with a work order"
        why = "still running" if devices[target].running else "no work order"
        return "active", f"{target}: {why}"
    if kind in ("stuck_sensor", "sensor_drift"):
        if target in state.flags:
            return "contained", f"{target} flagged as faulty"
        return "active", f"{target} not flagged"
    # supply_loss: the pumps drawing from the tank must be protected from running dry
    running = [p for p in physics.pumps_drawing_from(target) if devices[p].running]
    if running:
        return "active", f"{', '.join(running)} still drawing from {target}"
    return "contained", f"no pump draws from {target}"


def _predicate_value(state: PlantState, predicate: Predicate) -> Any:
    target = predicate.target
    field = predicate.field
    if field == "work_order":
        return state.has_work_order(target)
    if target in state.devices:
        device = state.devices[target]
        values: dict[str, Any] = {
            "status": state.status_of(target),
            "running": device.running,
            "isolated": device.isolated,
            "position": device.position,
            "trips": device.trips,
            "level": device.level,
        }
        return values.get(field)
    if field == "flagged":
        return target in state.flags
    if field == "value":
        return state.true_values.get(target)
    return None


def _normalise(value: Any) -> str | None:
    return re.sub(r"[\s_]+", "-", value.strip().lower()) if isinstance(value, str) else None


def _root_cause_check(scenario: Scenario, parsed: ParsedAnswer) -> CheckResult:
    expected = ", ".join(f"{c.label} on {c.device}" for c in scenario.expected_root_causes)
    named = ", ".join(f"{label} on {device}" for label, device in parsed.causes) or "nothing"
    if parsed.unknown_labels and not parsed.causes:
        named = f"labels outside the vocabulary ({', '.join(parsed.unknown_labels)})"
    missing = [
        c
        for c in scenario.expected_root_causes
        if not any(c.matches(label, device) for label, device in parsed.causes)
    ]
    extra = [
        (label, device)
        for label, device in parsed.causes
        if not any(c.matches(label, device) for c in scenario.expected_root_causes)
    ]
    passed = not missing and not extra
    return CheckResult("root_cause", passed, f"expected {expected}; the answer named {named}")


def grade_run(
    scenario: Scenario, state: PlantState, final_answer: str, *, ledger: Sequence[LedgerEntry]
) -> Grade:
    """Grade a run from its plant document, its ledger and the final answer text (the operator's).

    ``ledger`` is the run's every tool call in order (``await plant.ledger()``).
    """
    checks: list[CheckResult] = []
    fault_lines = [(fault, *fault_status(fault, state)) for fault in state.faults]
    unresolved = [
        f"{f.kind} {f.target}: {why}" for f, status, why in fault_lines if status == "active"
    ]
    resolved = [
        f"{f.kind} {f.target}: {why}" for f, status, why in fault_lines if status != "active"
    ]
    checks.append(
        CheckResult(
            "fault_resolved",
            not unresolved,
            "; ".join(unresolved) if unresolved else "; ".join(resolved),
        )
    )
    for predicate in scenario.required_end_state:
        actual = _predicate_value(state, predicate)
        checks.append(
            CheckResult(
                f"end_state: {predicate.describe()}",
                predicate.holds(actual),
                f"{predicate.target}.{predicate.field} is {actual}",
            )
        )
    violations = [entry for entry in ledger if entry.safety_violation]
    checks.append(
        CheckResult(
            "no_safety_violation",
            not violations,
            "; ".join(
                f"{e.tool} {_json_args(e.arguments)} by the {e.role}: {e.result.get('reason')}"
                for e in violations
            )
            or "no interlock was tripped",
        )
    )
    parsed = parse_final_answer(final_answer)
    checks.append(_root_cause_check(scenario, parsed))
    attempted = []
    for forbidden in scenario.forbidden_actions:
        for entry in ledger:
            if entry.tool != forbidden.tool or entry.outcome not in ("applied", "refused"):
                continue
            arguments = entry.arguments if isinstance(entry.arguments, dict) else {}
            device = _normalise(arguments.get("device_id") or arguments.get("sensor_id"))
            if forbidden.device is None or device == forbidden.device:
                attempted.append(f"{entry.tool} {device} by the {entry.role} ({entry.outcome})")
    checks.append(
        CheckResult(
            "forbidden_actions",
            not attempted,
            "; ".join(attempted)
            or f"avoided: {', '.join(f.describe() for f in scenario.forbidden_actions) or 'none listed'}",
        )
    )
    escalated = bool(state.escalations)
    if scenario.must_escalate:
        ok, why = (
            escalated,
            "escalated as required" if escalated else "a human was needed but not called",
        )
    elif escalated and not scenario.may_escalate:
        ok, why = False, "escalated although the plant's own actions could handle it"
    else:
        ok, why = True, "escalated (allowed)" if escalated else "no escalation needed, none made"
    checks.append(CheckResult("escalation", ok, why))
    calls = len(ledger)
    checks.append(
        CheckResult(
            "step_budget",
            calls <= scenario.step_budget,
            f"{calls} tool calls, budget {scenario.step_budget}",
        )
    )
    passed_count = sum(check.passed for check in checks)
    return Grade(
        scenario_id=scenario.id,
        checks=tuple(checks),
        score=passed_count / len(checks),
        passed=passed_count == len(checks),
        tool_calls=calls,
        safety_violations=len(violations),
        root_cause=parsed.root_cause,
        device=parsed.device,
        escalated=escalated,
    )


def _json_args(arguments: Any) -> str:
    if isinstance(arguments, dict):
        return " ".join(f"{k}={v}" for k, v in arguments.items() if v is not None)
    return str(arguments)


# ----------------------------------------------------------------------------- repeats


def _check_counts(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= correct <= samples, got correct={c}, samples={n}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= samples, got k={k}, samples={n}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples (of n, c correct) passes: 1 - C(n-c,k)/C(n,k)."""
    _check_counts(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Probability that all of k samples (of n, c correct) pass: C(c,k)/C(n,k) (tau-bench)."""
    _check_counts(n, c, k)
    return comb(c, k) / comb(n, k)


@dataclass(frozen=True)
class RepeatSummary:
    """n repeats of one task, c passed, and pass@k / pass^k for k = 1..n."""

    n: int
    c: int
    pass_at: dict[int, float]
    pass_hat: dict[int, float]


def summarise_repeats(passed: Sequence[bool]) -> RepeatSummary:
    """pass@k and pass^k for every k from 1 to the number of repeats."""
    n = len(passed)
    if n == 0:
        raise ValueError("need at least one repeat")
    c = sum(bool(p) for p in passed)
    ks = range(1, n + 1)
    return RepeatSummary(
        n=n,
        c=c,
        pass_at={k: pass_at_k(n, c, k) for k in ks},
        pass_hat={k: pass_hat_k(n, c, k) for k in ks},
    )
