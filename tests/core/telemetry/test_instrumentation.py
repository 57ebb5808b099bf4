"""Frameworks that share one OpenInference instrumentor (langchain and langgraph) enable it once."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from agentrig.core.telemetry import instrumentation
from agentrig.core.telemetry.instrumentation import FRAMEWORK_INSTRUMENTORS, instrument_framework


def test_langgraph_is_traced_by_the_langchain_instrumentor_under_its_own_extra() -> None:
    module, instrumentor, extra = FRAMEWORK_INSTRUMENTORS["langgraph"]
    assert (module, instrumentor) == FRAMEWORK_INSTRUMENTORS["langchain"][:2]
    assert extra == "langgraph"


@pytest.mark.parametrize(
    ("first", "second"), [("langchain", "langgraph"), ("langgraph", "langchain")]
)
def test_the_second_framework_of_a_shared_instrumentor_is_not_taken_for_the_applications(
    first: str, second: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after agentrig enabled openai-v2 and `first` in this process (nothing is instrumented
    # here: the shared instrumentor is found enabled by agentrig and left alone).
    done = {"openai", first}
    monkeypatch.setattr(instrumentation, "_done", done)
    with capture_logs() as logs:
        assert instrument_framework(second) is False
    assert done == {"openai", first, second}
    assert not [line for line in logs if "already instrumented" in line["event"]]
