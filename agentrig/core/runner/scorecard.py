"""``agentrig compare --scorecard``: the standard battery, and one production-readiness scorecard.

The battery runs the chosen frameworks and scenarios under each fault profile of the reference
model (none, flaky, hostile) and once crash-tested (``--kill 2``, no faults), each comparison in
its own sub-folder of ``--out``; then it folds them into one row per framework
(:func:`agentrig.core.report.scorecard.build_scorecard`): pass rate under each profile, crash
survival, duplicated actions, recovery cost, retries, and errors by category. ``scorecard.html``
renders it with charts; ``scorecard.json`` keeps the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from agentrig.core.plant.sources import ScenarioRef
from agentrig.core.report.scorecard import Scorecard, build_scorecard, write_scorecard_report
from agentrig.core.runner.compare import Comparison, compare
from agentrig.core.runner.crash_test import check_crash_test_settings
from agentrig.core.runner.spec import DEFAULT_RUN_TIMEOUT_S, RunSettings
from agentrig.exceptions import ConfigurationError

__all__ = [
    "SCORECARD_KILLS",
    "SCORECARD_PROFILES",
    "ScorecardRun",
    "check_scorecard_settings",
    "run_scorecard",
]

SCORECARD_PROFILES: tuple[str, ...] = ("none", "flaky", "hostile")
SCORECARD_KILLS = 2
SCORECARD_JSON = "scorecard.json"


def check_scorecard_settings(settings: RunSettings) -> None:
    """Refuse what the battery cannot run with, before anything runs."""
    if settings.cassettes is not None:
        raise ConfigurationError(
            "--scorecard injects faults and kills runs: it needs a live model, not --replay"
        )
    if settings.faults is not None:
        raise ConfigurationError(
            f"--scorecard runs the fault profiles {', '.join(SCORECARD_PROFILES)} itself: "
            "drop --faults"
        )
    check_crash_test_settings(settings)


@dataclass
class ScorecardRun:
    """The battery's comparisons (by profile, and ``kill``) and the scorecard they make."""

    out_dir: Path
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    scorecard: Scorecard | None = None

    @property
    def html_file(self) -> Path:
        return self.out_dir / "scorecard.html"

    @property
    def json_file(self) -> Path:
        return self.out_dir / SCORECARD_JSON


async def run_scorecard(
    frameworks: Sequence[str],
    scenarios: Sequence[str | ScenarioRef],
    *,
    settings: RunSettings,
    session: str,
    model: str = "reference",
    concurrency: int = 4,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    kill_seed: int = 0,
    console: Console | None = None,
) -> ScorecardRun:
    """Run the battery into ``settings.out_dir`` and write ``scorecard.html`` and ``.json``."""
    check_scorecard_settings(settings)
    console = console or Console(stderr=True)
    battery = ScorecardRun(out_dir=settings.out_dir)
    for profile in (*SCORECARD_PROFILES, "kill"):
        faults = None if profile == "kill" else profile
        sub = settings.model_copy(update={"faults": faults, "out_dir": settings.out_dir / profile})
        console.print(
            f"[bold]scorecard:[/bold] {profile}"
            + (" (--kill 2)" if profile == "kill" else " faults")
        )
        battery.comparisons[profile] = await compare(
            frameworks,
            scenarios,
            model=model,
            settings=sub,
            concurrency=concurrency,
            timeout_s=timeout_s,
            console=console,
            session=f"{session}-{profile}",
            kills=SCORECARD_KILLS if profile == "kill" else 0,
            kill_seed=kill_seed,
        )
    battery.scorecard = build_scorecard(
        {profile: battery.comparisons[profile].results for profile in SCORECARD_PROFILES},
        battery.comparisons["kill"].results,
        order=frameworks,
    )
    write_scorecard_report(battery.out_dir, battery.scorecard)
    battery.json_file.write_text(battery.scorecard.model_dump_json(indent=2), encoding="utf-8")
    return battery
