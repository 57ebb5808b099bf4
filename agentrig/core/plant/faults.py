"""Injected faults: what can go wrong in the plant, and how each fault grows with time.

A fault kind has the same name as the root-cause label that explains it (``roles.ROOT_CAUSES``).
A fault starts at ``start_tick`` (warm-up ticks count: tick 0 is the plant's start), begins at
``severity`` and grows by ``rate`` per tick up to 1.0. What severity means depends on the kind:

==================  ==========  =========================================================
kind                target      severity / value
==================  ==========  =========================================================
tripped_breaker     motor       -- the breaker trips at start_tick (a restart resets it)
ground_fault        motor       -- trips at start_tick; re-energising is interlocked
closed_valve        valve       ``value``: the position (percent open) it is left at
blocked_discharge   valve       fraction of the valve's bore blocked
bearing_wear        pump        wear: vibration and bearing temperature rise with it
motor_overheating   motor       cooling loss: winding and frame temperature rise with it
stuck_sensor        sensor      ``value``: the reading it is frozen at (no noise)
sensor_drift        sensor      offset in the sensor's unit (``rate`` per tick)
supply_loss         tank        fraction of the external supply lost (1.0: none arrives)
==================  ==========  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from agentrig.core.contract.roles import RootCauseLabel

__all__ = ["FAULT_TARGET_KINDS", "Fault", "FaultEffects", "FaultKind", "fault_effects"]

FaultKind = RootCauseLabel

FAULT_TARGET_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "tripped_breaker": ("motor",),
    "ground_fault": ("motor",),
    "closed_valve": ("valve",),
    "blocked_discharge": ("valve",),
    "bearing_wear": ("pump", "compressor"),
    "motor_overheating": ("motor",),
    "stuck_sensor": ("sensor",),
    "sensor_drift": ("sensor",),
    "supply_loss": ("tank",),
}
"""What each fault kind can be injected into ("sensor" means a sensor id, others device kinds)."""


class Fault(BaseModel):
    """One injected fault, as a scenario declares it and as the plant document keeps it."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    target: str = Field(description="the device or sensor id the fault is in")
    start_tick: int = Field(default=0, ge=0, description="tick at which it starts (0 = start)")
    severity: float = Field(default=0.0, ge=0, description="initial severity (see the table)")
    rate: float = Field(default=0.0, description="severity added per tick")
    value: float | None = Field(default=None, description="closed_valve / stuck_sensor value")

    def active(self, tick: int) -> bool:
        return tick >= self.start_tick

    def severity_at(self, tick: int) -> float:
        """Severity at ``tick``: 0 before the start, then growing by ``rate``, capped at 1.

        Sensor drift is an offset in the sensor's unit, so it is not capped.
        """
        if not self.active(tick):
            return 0.0
        grown = self.severity + self.rate * (tick - self.start_tick)
        return grown if self.kind == "sensor_drift" else max(0.0, min(1.0, grown))


@dataclass
class FaultEffects:
    """What the physics needs to know about the faults at one tick."""

    blockage: dict[str, float] = field(default_factory=dict)
    bearing_wear: dict[str, float] = field(default_factory=dict)
    overheating: dict[str, float] = field(default_factory=dict)
    supply_lost: dict[str, float] = field(default_factory=dict)
    stuck: dict[str, float] = field(default_factory=dict)
    drift: dict[str, float] = field(default_factory=dict)


def fault_effects(faults: list[Fault], tick: int) -> FaultEffects:
    """The physical effect of every active fault at ``tick``."""
    effects = FaultEffects()
    for fault in faults:
        if not fault.active(tick):
            continue
        severity = fault.severity_at(tick)
        if fault.kind == "blocked_discharge":
            effects.blockage[fault.target] = severity
        elif fault.kind == "bearing_wear":
            effects.bearing_wear[fault.target] = severity
        elif fault.kind == "motor_overheating":
            effects.overheating[fault.target] = severity
        elif fault.kind == "supply_loss":
            effects.supply_lost[fault.target] = severity
        elif fault.kind == "stuck_sensor" and fault.value is not None:
            effects.stuck[fault.target] = fault.value
        elif fault.kind == "sensor_drift":
            effects.drift[fault.target] = severity
    return effects
