"""Every errored or failed run is explained: a category, the fault behind it, the frame it came from.

The integration tests drive real runs against the reference model with a fault profile that
injects one fault kind into every reply, and check what ``results.jsonl`` would say.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from agentrig.core.contract.roles import build_task
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.runner.failures import explain_failure, framework_frame
from agentrig.core.state import MemoryStateStore
from agentrig.exceptions import ConfigurationError

SCENARIO = "closed-discharge-valve"
# One short read timeout and one retry keep the transport faults quick.
MODEL = "reference?timeout=1&max_retries=1"


def _profile(tmp_path: Path, kind: str) -> str:
    path = tmp_path / f"only-{kind}.yaml"
    path.write_text(f"name: only-{kind}\nrates: {{{kind}: 1.0}}\nretry_after_seconds: 0.05\n")
    return str(path)


async def _run(tmp_path: Path, framework: str, kind: str):  # type: ignore[no-untyped-def]
    settings = RunSettings(state_url="memory://", out_dir=tmp_path, faults=_profile(tmp_path, kind))
    async with RunServices(settings, store=MemoryStateStore()) as services:
        return await execute_run(
            RunSpec(framework=framework, scenario=SCENARIO, model=MODEL, run_id=f"{framework}-x"),
            services,
        )


TRANSPORT = ["rate_limit", "server_error", "unavailable"]


@pytest.mark.allow_model_requests
@pytest.mark.parametrize("kind", TRANSPORT)
async def test_an_injected_http_error_past_the_retries_is_a_model_fault_of_that_kind(
    tmp_path: Path, kind: str
) -> None:
    result = await _run(tmp_path, "plain", kind)
    assert result.status == "error"
    assert (result.error_category, result.fault) == ("model_fault", kind)
    assert "injected by the model" in (result.error_detail or "")


@pytest.mark.allow_model_requests
async def test_a_connection_reset_by_the_fault_profile_is_named(tmp_path: Path) -> None:
    result = await _run(tmp_path, "plain", "connection_reset")
    assert (result.status, result.error_category, result.fault) == (
        "error",
        "model_fault",
        "connection_reset",
    )
    assert "injected by the model" in (result.error_detail or "")


@pytest.mark.slow
@pytest.mark.allow_model_requests
async def test_a_reply_slower_than_the_read_timeout_is_a_model_fault(tmp_path: Path) -> None:
    result = await _run(tmp_path, "plain", "timeout")
    assert (result.status, result.error_category, result.fault) == (
        "error",
        "model_fault",
        "timeout",
    )


@pytest.mark.allow_model_requests
@pytest.mark.parametrize("kind", ["truncated", "malformed_tool_arguments", "unknown_tool"])
async def test_a_content_fault_the_baseline_survives_still_explains_its_failure(
    tmp_path: Path, kind: str
) -> None:
    result = await _run(tmp_path, "plain", kind)
    assert result.status in ("failed", "error")
    assert (result.error_category, result.fault) == ("model_fault", kind)


@pytest.mark.allow_model_requests
async def test_the_baseline_on_empty_choices_fails_and_says_the_model_injected_them(
    tmp_path: Path,
) -> None:
    result = await _run(tmp_path, "plain", "empty_choices")
    assert result.status == "failed"
    assert (result.error_category, result.fault) == ("model_fault", "empty_choices")


@pytest.mark.allow_model_requests
@pytest.mark.parametrize(
    ("framework", "package"),
    [("langchain", "langchain_core/"), ("autogen", "autogen_ext/")],
)
async def test_a_framework_crashing_on_injected_empty_choices_is_named_with_its_frame(
    tmp_path: Path, framework: str, package: str
) -> None:
    pytest.importorskip({"langchain": "langchain", "autogen": "autogen_agentchat"}[framework])
    result = await _run(tmp_path, framework, "empty_choices")
    assert result.status == "error"
    assert (result.error_category, result.fault) == ("model_fault", "empty_choices")
    assert (result.error_frame or "").startswith(package)
    assert "IndexError" in (result.error_detail or "")
    assert "empty `choices` list injected by the model" in (result.error_detail or "")


@pytest.mark.allow_model_requests
async def test_a_passed_run_has_no_category(tmp_path: Path) -> None:
    settings = RunSettings(state_url="memory://", out_dir=tmp_path)
    async with RunServices(settings, store=MemoryStateStore()) as services:
        result = await execute_run(RunSpec(framework="plain", scenario=SCENARIO), services)
    assert result.status == "passed"
    assert (result.error_category, result.error_detail, result.fault) == (None, None, None)


# ------------------------------------------------------------------ the rules, one by one


def _status_error(status: int, message: str, headers: dict[str, str] | None = None) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    response = httpx.Response(
        status, json={"error": {"message": message}}, headers=headers, request=request
    )
    cls = openai.BadRequestError if status == 400 else openai.InternalServerError
    return cls(message, response=response, body={"error": {"message": message}})


def test_a_real_server_rejecting_a_request_is_interop_with_its_message() -> None:
    error = _status_error(500, "'content' must not be null for an assistant message")
    failure = explain_failure(framework="crewai", error=error, reference_model=False)
    assert failure.category == "interop"
    assert failure.detail == (
        "the server rejected CrewAI's request (HTTP 500): "
        "'content' must not be null for an assistant message"
    )


def test_the_fault_header_makes_an_http_error_a_model_fault() -> None:
    error = _status_error(500, "boom", headers={"x-agentrig-fault": "server_error"})
    failure = explain_failure(framework="plain", error=error)
    assert (failure.category, failure.fault) == ("model_fault", "server_error")


def test_an_exception_raised_in_agentrig_core_is_a_harness_bug() -> None:
    try:
        build_task(None, [])  # type: ignore[arg-type]
    except Exception as error:
        failure = explain_failure(framework="plain", error=error)
        frame = framework_frame(error)
    assert failure.category == "harness"
    assert frame is not None
    assert frame.package == "agentrig"
    assert frame.location.startswith("agentrig/core/contract/roles.py:")


def test_options_timeouts_and_graded_failures_have_their_own_categories() -> None:
    config = explain_failure(framework="plain", error=ConfigurationError("unknown model 'bogus'"))
    assert (config.category, config.detail) == (
        "config",
        "the plain openai loop: unknown model 'bogus'",
    )
    timeout = explain_failure(framework="autogen", error=None, timed_out=True, timeout_s=2.5)
    assert (timeout.category, timeout.detail) == ("timeout", "AutoGen did not finish within 2.5 s")
    graded = explain_failure(
        framework="langchain", error=None, failed_checks=["root_cause: named nothing"]
    )
    assert graded.category == "agent"
    assert graded.detail.endswith("graded failed: root_cause: named nothing")


def test_an_exception_from_the_framework_itself_is_a_framework_exception() -> None:
    error = RuntimeError("the framework fell over")
    failure = explain_failure(framework="crewai", error=error)
    assert failure.category == "framework_exception"
    assert failure.detail == "CrewAI raised RuntimeError: the framework fell over"
