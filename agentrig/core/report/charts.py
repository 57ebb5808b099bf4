"""The report's charts: what each shows, built from the summaries and the run results.

Each chart is a :class:`Chart` (heading, one-line explanation, inline SVG). The numbers are those
of :func:`~agentrig.core.report.summary.summarise` (bars) or of every run (distributions), so a
chart never disagrees with the summary table above it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from agentrig.core.contract.results import RunResult
from agentrig.core.report.summary import CATEGORY_ORDER, FrameworkSummary
from agentrig.core.report.svg import (
    Bar,
    BarRow,
    Distribution,
    Point,
    Series,
    bar_chart,
    distribution_chart,
    stacked_bar_chart,
)

__all__ = [
    "BUILTIN_FRAMEWORKS",
    "CATEGORY_COLOURS",
    "CATEGORY_MEANINGS",
    "Chart",
    "ReadinessFigures",
    "build_charts",
    "crash_chart",
    "failure_chart",
    "framework_colours",
    "recovery_chart",
]

# Okabe-Ito, then Paul Tol's muted scheme: distinguishable with the common colour-vision
# deficiencies. The first four stay the four original adapters' colours in every report.
_PALETTE = (
    "#0072B2",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#D55E00",
    "#332288",
    "#117733",
    "#882255",
    "#DDCC77",
    "#44AA99",
    "#999999",
)
BUILTIN_FRAMEWORKS = (
    "plain",
    "langchain",
    "autogen",
    "crewai",
    "langgraph",
    "openai-agents",
    "pydantic-ai",
    "agent-framework",
    "google-adk",
    "smolagents",
)
_KNOWN = {name: index for index, name in enumerate(BUILTIN_FRAMEWORKS)}


def framework_colours(frameworks: Sequence[str]) -> dict[str, str]:
    """A stable colour per framework: the built-in adapters keep theirs in every report."""
    colours: dict[str, str] = {}
    spare = [i for i in range(len(_PALETTE)) if i not in _KNOWN.values()]
    for name in frameworks:
        if name in _KNOWN:
            colours[name] = _PALETTE[_KNOWN[name]]
        else:
            colours[name] = _PALETTE[spare[len(colours) % len(spare)]] if spare else _PALETTE[-1]
    return colours


CATEGORY_COLOURS: Final[dict[str, str]] = {
    "model_fault": "#E69F00",
    "framework_exception": "#D55E00",
    "interop": "#CC79A7",
    "timeout": "#56B4E9",
    "harness": "#000000",
    "config": "#999999",
    "agent": "#0072B2",
    "uncategorised": "#d0d7de",
}
CATEGORY_MEANINGS: Final[dict[str, str]] = {
    "model_fault": "the model path failed: an injected fault or a provider's limit, past retries",
    "framework_exception": "the framework raised on its own",
    "interop": "the server rejected the framework's request, or the framework a real reply",
    "timeout": "the run did not finish within --timeout",
    "harness": "agentrig's own code raised (a bug to report against agentrig)",
    "config": "a setting was wrong (model, extra, scenario)",
    "agent": "the run finished and the grader failed it",
    "uncategorised": "no category recorded (a results file from before categories)",
}


class ReadinessFigures(Protocol):
    """What the failure and crash charts read: a framework summary or a scorecard row."""

    @property
    def framework(self) -> str: ...
    @property
    def categories(self) -> dict[str, int]: ...
    @property
    def crash_runs(self) -> int: ...
    @property
    def kills(self) -> int: ...
    @property
    def survived(self) -> int: ...
    @property
    def duplicated_actions(self) -> int: ...
    @property
    def extra_llm_calls(self) -> float: ...
    @property
    def extra_tokens(self) -> float: ...
    @property
    def extra_seconds(self) -> float: ...


@dataclass(frozen=True)
class Chart:
    """One chart card of the report."""

    key: str
    heading: str
    note: str
    svg: str


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"


def _pass_chart(summaries: Sequence[FrameworkSummary]) -> Chart:
    k = max((s.k for s in summaries), default=1)
    series = [
        Series("pass rate", "#1b5e20"),
        Series(f"pass@{k}", "#66bb6a"),
        Series(f"pass^{k}", "#0b3c5d"),
    ]
    rows = [
        BarRow(
            s.framework,
            [
                Bar(
                    s.pass_rate,
                    f"{s.framework}: {s.passed} of {s.runs} runs passed ({s.pass_rate:.1%})",
                ),
                Bar(
                    s.pass_at_k,
                    f"{s.framework}: pass@{s.k} = {s.pass_at_k:.3f} "
                    "(mean over scenarios: at least one of k tries passes)",
                ),
                Bar(
                    s.pass_hat_k,
                    f"{s.framework}: pass^{s.k} = {s.pass_hat_k:.3f} "
                    "(mean over scenarios: all k tries pass)",
                ),
            ],
        )
        for s in summaries
    ]
    return Chart(
        "pass",
        "Pass rate, pass@k and pass^k",
        f"k = {k} repeats per scenario; pass^k is the reliability figure: every try passes.",
        bar_chart(rows, series, title="Pass rate, pass@k and pass^k", maximum=1.0, fmt=_percent),
    )


def _safety_chart(
    summaries: Sequence[FrameworkSummary],
    by_framework: Mapping[str, Sequence[RunResult]],
    colours: Mapping[str, str],
) -> Chart:
    series = [Series("unsafe attempts", "#c62828"), Series("runs with one or more", "#ef9a9a")]
    rows = []
    for s in summaries:
        unsafe_runs = sum(r.safety_violations > 0 for r in by_framework[s.framework])
        rows.append(
            BarRow(
                s.framework,
                [
                    Bar(
                        s.safety_violations,
                        f"{s.framework}: {s.safety_violations} action "
                        f"attempts refused by a safety interlock in {s.runs} runs",
                    ),
                    Bar(
                        unsafe_runs,
                        f"{s.framework}: {unsafe_runs} of {s.runs} runs "
                        "attempted at least one unsafe action",
                    ),
                ],
                colours.get(s.framework),
            )
        )
    return Chart(
        "safety",
        "Safety violations",
        "Unsafe actions the plant's interlocks refused (e.g. a restart against a closed valve).",
        bar_chart(rows, series, title="Safety violations", fmt=_count, integer=True),
    )


def _errors_chart(summaries: Sequence[FrameworkSummary]) -> Chart:
    # Retries run an order of magnitude above errors: two axes, or the errors would vanish.
    errors = bar_chart(
        [
            BarRow(
                s.framework,
                [
                    Bar(s.errors, f"{s.framework}: {s.errors} of {s.runs} runs ended in an error"),
                    Bar(
                        s.llm_errors,
                        f"{s.framework}: {s.llm_errors} LLM calls failed after the client's "
                        "own retries",
                    ),
                ],
            )
            for s in summaries
        ],
        [Series("runs that broke", "#c62828"), Series("failed LLM calls", "#f4a259")],
        title="Errors",
        fmt=_count,
        integer=True,
    )
    retries = bar_chart(
        [
            BarRow(
                s.framework,
                [
                    Bar(
                        s.retries,
                        f"{s.framework}: {s.retries} HTTP retries by the model client "
                        f"({s.retries / max(s.runs, 1):.1f} per run)",
                    )
                ],
            )
            for s in summaries
        ],
        [Series("client retries", "#7e8a97")],
        title="Retries",
        fmt=_count,
        integer=True,
    )
    quiet = all(s.errors == s.llm_errors == s.retries == 0 for s in summaries)
    note = (
        "All zero: no faults reached the frameworks (try --faults flaky or hostile)."
        if quiet
        else "Under a fault profile: how often each framework broke (top) and how hard its "
        "model client retried (bottom: 429, 5xx, timeouts)."
    )
    return Chart("errors", "Errors and retries", note, errors + retries)


def _distribution(
    key: str,
    heading: str,
    note: str,
    by_framework: Mapping[str, Sequence[RunResult]],
    colours: Mapping[str, str],
    value: str,
) -> Chart:
    unit_fmt = _seconds if value == "wall_seconds" else _count

    def figure(result: RunResult) -> float:
        if value == "tokens":
            return float(result.input_tokens + result.output_tokens)
        return float(getattr(result, value))

    def detail(result: RunResult) -> str:
        if value == "tokens":
            return f"{result.input_tokens:,} in + {result.output_tokens:,} out tokens"
        if value == "wall_seconds":
            return f"{result.wall_seconds:.3f} s wall ({result.llm_seconds:.3f} s in LLM calls)"
        return f"{result.llm_calls} LLM calls, {result.tool_calls} tool calls"

    rows = [
        Distribution(
            framework,
            colours[framework],
            [
                Point(
                    figure(r),
                    f"{r.framework} {r.scenario} r{r.repeat} ({r.status}): {detail(r)}",
                )
                for r in results
            ],
        )
        for framework, results in by_framework.items()
    ]
    return Chart(key, heading, note, distribution_chart(rows, title=heading, fmt=unit_fmt))


def build_charts(
    summaries: Sequence[FrameworkSummary],
    by_framework: Mapping[str, Sequence[RunResult]],
    colours: Mapping[str, str],
) -> list[Chart]:
    """Every chart of the report, in reading order."""
    return [
        _pass_chart(summaries),
        _safety_chart(summaries, by_framework, colours),
        _distribution(
            "tokens",
            "Tokens per run",
            "Input + output tokens of every run (dot); box: quartiles, bar: median, diamond: mean.",
            by_framework,
            colours,
            "tokens",
        ),
        _distribution(
            "llm-calls",
            "LLM calls per run",
            "Chat completions per run, retries excluded.",
            by_framework,
            colours,
            "llm_calls",
        ),
        _distribution(
            "wall",
            "Wall time per run",
            "Seconds from start to graded end; the table's p50 and p95 come from these dots.",
            by_framework,
            colours,
            "wall_seconds",
        ),
        _errors_chart(summaries),
    ]


# ---------------------------------------------------------------- production readiness


def failure_chart(rows: Sequence[ReadinessFigures]) -> Chart:
    """Runs that did not pass, one stacked bar per framework, one segment per error category."""
    series = [Series(category, CATEGORY_COLOURS[category]) for category in CATEGORY_ORDER]
    bars = [
        BarRow(
            row.framework,
            [
                Bar(
                    row.categories.get(category, 0),
                    f"{row.framework}: {row.categories.get(category, 0)} runs did not pass: "
                    f"{category} ({CATEGORY_MEANINGS[category]})",
                )
                for category in CATEGORY_ORDER
            ],
        )
        for row in rows
    ]
    return Chart(
        "failures",
        "Why runs did not pass",
        "Runs that failed or errored, by category; hover a segment for its meaning.",
        stacked_bar_chart(bars, series, title="Why runs did not pass", fmt=_count),
    )


def _crashed(rows: Sequence[ReadinessFigures]) -> list[ReadinessFigures]:
    return [row for row in rows if row.crash_runs]


def crash_chart(rows: Sequence[ReadinessFigures]) -> Chart:
    """Survival rate (top) and duplicated actions (bottom) of the frameworks with crash runs."""
    crashed = _crashed(rows)
    survival = bar_chart(
        [
            BarRow(
                row.framework,
                [
                    Bar(
                        row.survived / row.crash_runs,
                        f"{row.framework}: {row.survived} of {row.crash_runs} killed runs "
                        "ended like their uninterrupted control",
                    )
                ],
            )
            for row in crashed
        ],
        [Series("survived", "#2e7d32")],
        title="Crash survival",
        maximum=1.0,
        fmt=_percent,
    )
    duplicated = bar_chart(
        [
            BarRow(
                row.framework,
                [
                    Bar(
                        row.duplicated_actions,
                        f"{row.framework}: {row.duplicated_actions} actions applied more often "
                        f"than in the control, over {row.crash_runs} killed runs",
                    )
                ],
            )
            for row in crashed
        ],
        [Series("duplicated actions", "#c62828")],
        title="Duplicated actions",
        fmt=_count,
        integer=True,
    )
    return Chart(
        "crash",
        "Crash survival and duplicated actions",
        "Runs killed with SIGKILL and resumed: the share that ended like the uninterrupted "
        "control (top), and actions the plant applied twice (bottom: a resume that repeated work).",
        survival + duplicated,
    )


def recovery_chart(rows: Sequence[ReadinessFigures]) -> Chart:
    """What a resume cost per killed run over its control: LLM calls, tokens, seconds."""
    crashed = _crashed(rows)
    parts = []
    for field, name, colour, fmt in (
        ("extra_llm_calls", "extra LLM calls", "#0b3c5d", _count),
        ("extra_tokens", "extra tokens (in + out)", "#66bb6a", _count),
        ("extra_seconds", "extra seconds", "#7e8a97", _seconds),
    ):
        parts.append(
            bar_chart(
                [
                    BarRow(
                        row.framework,
                        [
                            Bar(
                                getattr(row, field),
                                f"{row.framework}: {getattr(row, field):.2f} {name} per killed "
                                "run over its control",
                            )
                        ],
                    )
                    for row in crashed
                ],
                [Series(name, colour)],
                title=f"Recovery cost: {name}",
                fmt=fmt,
            )
        )
    return Chart(
        "recovery",
        "Recovery cost",
        "Per killed run (mean) over the uninterrupted control: what the resume repeated.",
        "".join(parts),
    )
