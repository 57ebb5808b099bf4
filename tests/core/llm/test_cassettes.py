"""Recording and replaying runs with the plain baseline against the reference model.

Recording talks to the reference model (marked ``allow_model_requests``); every replay here runs
under the suite's guard with the shared reference server made unavailable, so a replay that
tried to reach a model would fail.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from agentrig.core.contract.agent import Outcome, RunContext
from agentrig.core.contract.results import RunResult
from agentrig.core.llm import endpoints
from agentrig.core.llm.cassettes import REPLAY_BASE_URL, CassetteSettings, use_cassette
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.core.messaging import Message
from agentrig.core.runner import (
    RunServices,
    RunSettings,
    RunSpec,
    build_matrix,
    execute_run,
    run_matrix,
)
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.context import start_thread
from agentrig.exceptions import (
    CassetteError,
    CassetteMismatchError,
    LiveModelRequestError,
    MissingCassetteError,
    ModelError,
)

SCENARIO = "closed-discharge-valve"


def _refuse(**_: Any) -> None:
    raise ModelError("the reference model server is disabled in this test")


@pytest.fixture
def no_reference_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make starting the shared reference model fail: replay must not need it."""
    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)


@pytest.fixture(scope="module")
def reference() -> Iterator[ReferenceModelServer]:
    with ReferenceModelServer() as server:
        yield server


async def _run(
    directory: Path, mode: str, out: Path, scenario: str = SCENARIO, repeat: int = 0
) -> RunResult:
    settings = RunSettings(
        state_url="memory://",
        out_dir=out,
        cassettes=CassetteSettings(directory=directory, mode=mode),  # type: ignore[arg-type]
    )
    async with RunServices(settings, store=MemoryStateStore()) as services:
        spec = RunSpec(framework="plain", scenario=scenario, repeat=repeat)
        return await execute_run(spec, services)


@pytest.mark.allow_model_requests
async def test_a_replayed_run_reproduces_the_recorded_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = await _run(tmp_path / "cassettes", "all", tmp_path / "rec")
    assert recorded.status == "passed", recorded.errors
    cassette = tmp_path / "cassettes" / "reference" / "plain" / f"{SCENARIO}.yaml"
    assert cassette.is_file()

    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)
    with _blocked() as attempts:
        replayed = await _run(tmp_path / "cassettes", "none", tmp_path / "rep")
    assert attempts == []
    assert replayed.comparable() == recorded.comparable()
    assert replayed.run_id != recorded.run_id
    assert cassette.read_text().count("- request:") == recorded.llm_calls


@pytest.mark.allow_model_requests
async def test_the_same_run_recorded_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c" / "reference" / "plain" / f"{SCENARIO}.yaml"
    first = await _run(tmp_path / "c", "all", tmp_path / "out-a")
    recorded_first = path.read_bytes()
    second = await _run(tmp_path / "c", "all", tmp_path / "out-b")
    assert first.status == second.status == "passed"
    assert first.run_id != second.run_id
    assert path.read_bytes() == recorded_first


@pytest.mark.allow_model_requests
async def test_concurrent_runs_record_and_replay_their_own_cassettes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = ["closed-discharge-valve", "stuck-level-sensor"]
    specs = build_matrix(["plain"], scenarios, repeats=2)

    async def matrix(mode: str, out: str) -> dict[tuple[str, int], RunResult]:
        settings = RunSettings(
            state_url="memory://",
            out_dir=tmp_path / out,
            cassettes=CassetteSettings(directory=tmp_path / "c", mode=mode),  # type: ignore[arg-type]
        )
        async with RunServices(settings, store=MemoryStateStore()) as services:
            results = await run_matrix(specs, services, concurrency=4)
        return {(r.scenario, r.repeat): r for r in results}

    recorded = await matrix("all", "rec")
    assert {r.status for r in recorded.values()} == {"passed"}
    alarms = {}
    for scenario in scenarios:
        for repeat, suffix in enumerate(("", ".r1")):
            path = tmp_path / "c" / "reference" / "plain" / f"{scenario}{suffix}.yaml"
            # Every request in a cassette carries the alarm of that run, and only that one.
            alarms[(scenario, repeat)] = _alarm_lines(path)
            assert len(alarms[(scenario, repeat)]) == 1, (path, alarms[(scenario, repeat)])
    for (scenario, _), found in alarms.items():
        others = {
            line for (other, _), lines in alarms.items() if other != scenario for line in lines
        }
        assert not found & others

    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)
    replayed = await matrix("none", "rep")
    assert {key: r.comparable() for key, r in replayed.items()} == {
        key: r.comparable() for key, r in recorded.items()
    }


@pytest.mark.allow_model_requests
async def test_drift_fails_the_run_with_the_cassette_position_and_a_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = await _run(tmp_path / "c", "all", tmp_path / "rec")
    assert recorded.status == "passed"
    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)
    cassette = tmp_path / "c" / "reference" / "plain" / f"{SCENARIO}.yaml"
    text = cassette.read_text()
    # As if the diagnostician's prompt had changed since the recording.
    changed = text.replace("You are the diagnostician", "You are the lead diagnostician")
    assert changed != text
    cassette.write_text(changed)

    replayed = await _run(tmp_path / "c", "none", tmp_path / "rep")
    assert replayed.status == "error"
    (error,) = [e for e in replayed.errors if e.startswith("CassetteMismatchError")]
    assert str(cassette) in error
    position = int(error.split("matches request #")[1].split(";")[0])
    assert f"+++ request #{position}" in error
    assert "-    You are the lead diagnostician" in error
    assert "+    You are the diagnostician" in error
    # Requests up to the drift were answered; the drifted one was not served.
    assert 0 < position < recorded.llm_calls
    assert replayed.llm_calls == position + 1  # the drifted call failed; none was made after it


async def test_replay_of_a_missing_cassette_says_how_to_record_it(
    tmp_path: Path, no_reference_server: None
) -> None:
    result = await _run(tmp_path / "none-here", "none", tmp_path / "out")
    assert result.status == "error"
    # The first model call found no cassette: that call failed, and so did the run, saying why.
    assert result.llm_calls == result.llm_errors == 1
    assert result.errors[-1] == (
        f"MissingCassetteError: no cassette at {tmp_path}/none-here/reference/plain/{SCENARIO}"
        f".yaml: record it with `agentrig record -f plain -s {SCENARIO} --model reference "
        f"--cassettes {tmp_path}/none-here`"
    )


async def test_a_run_that_makes_no_model_call_needs_no_cassette(
    tmp_path: Path, no_reference_server: None
) -> None:
    class Silent:
        name = "silent"
        framework_version = "0"

        async def run(self, task: Message, ctx: RunContext) -> Outcome:
            return Outcome(final_report="ROOT_CAUSE: none")

        async def aclose(self) -> None:
            pass

    settings = RunSettings(
        state_url="memory://", out_dir=tmp_path, cassettes=CassetteSettings(directory=tmp_path)
    )
    async with RunServices(settings, adapters={"silent": Silent()}) as services:
        result = await execute_run(RunSpec(framework="silent", scenario=SCENARIO), services)
    assert result.errors == []
    assert result.status == "failed"  # graded: the silent adapter fixed nothing
    assert not list(tmp_path.rglob("*.yaml"))


def _chat(stream: bool) -> dict[str, Any]:
    return {
        "model": "agentrig-operator",
        "messages": [
            {"role": "system", "content": "You are the monitor of the plant."},
            {"role": "user", "content": "ALARM pump-07: tripped on high discharge pressure."},
        ],
        "stream": stream,
        **({"stream_options": {"include_usage": True}} if stream else {}),
    }


@pytest.mark.allow_model_requests
def test_sync_streaming_replays_chunk_for_chunk(
    tmp_path: Path, reference: ReferenceModelServer
) -> None:
    path = tmp_path / "stream.yaml"
    with use_cassette(path, "all"), openai.OpenAI(base_url=reference.base_url, api_key="k") as c:
        live = [chunk.model_dump() for chunk in c.chat.completions.create(**_chat(True))]
    assert len(live) > 5
    assert live[-1]["usage"]["completion_tokens"] > 0
    assert "events:\n" in path.read_text()
    with (
        _blocked(),
        use_cassette(path, "none") as cassette,
        openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="k") as client,
    ):
        replayed = [chunk.model_dump() for chunk in client.chat.completions.create(**_chat(True))]
    assert replayed == live
    assert cassette.replayed == 1


@pytest.mark.allow_model_requests
async def test_async_streaming_replays_chunk_for_chunk(
    tmp_path: Path, reference: ReferenceModelServer
) -> None:
    path = tmp_path / "stream.yaml"

    async def chunks(base_url: str) -> list[dict[str, Any]]:
        async with openai.AsyncOpenAI(base_url=base_url, api_key="k") as client:
            stream = await client.chat.completions.create(**_chat(True))
            return [chunk.model_dump() async for chunk in stream]

    with use_cassette(path, "all"):
        live = await chunks(reference.base_url)
    with _blocked(), use_cassette(path, "none"):
        replayed = await chunks(REPLAY_BASE_URL)
    assert len(live) > 5
    assert replayed == live

    # The raw transport hands out one event per chunk, the same chunks on every replay.
    with use_cassette(path, "none"):
        async with (
            httpx.AsyncClient() as raw,
            raw.stream("POST", f"{REPLAY_BASE_URL}/chat/completions", json=_chat(True)) as reply,
        ):
            raw_chunks = [chunk async for chunk in reply.aiter_raw()]
    assert len(raw_chunks) == len(live) + 1  # and the [DONE] event
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") for chunk in raw_chunks)


@pytest.mark.allow_model_requests
def test_record_modes(tmp_path: Path, reference: ReferenceModelServer) -> None:
    path = tmp_path / "modes.yaml"

    def ask(text: str, base_url: str = reference.base_url) -> str:
        body = _chat(False) | {"messages": [{"role": "user", "content": text}]}
        with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as client:
            return client.chat.completions.create(**body).choices[0].message.content or ""

    with use_cassette(path, "once") as cassette:  # no file yet: records
        first = ask("ALARM pump-07: tripped")
    assert cassette.recorded == 1
    with use_cassette(path, "once") as cassette:  # the file exists: replays only
        assert ask("ALARM pump-07: tripped", REPLAY_BASE_URL) == first
        with pytest.raises(openai.BadRequestError, match="no recorded response"):
            ask("ALARM valve-12: stuck", REPLAY_BASE_URL)
        cassette.errors.clear()  # seen; this block goes on to test the mode
    with use_cassette(path, "new_episodes") as cassette:  # replays the old, records the new
        assert ask("ALARM pump-07: tripped") == first
        ask("ALARM valve-12: stuck")
    assert (cassette.replayed, cassette.recorded) == (1, 1)
    assert path.read_text().count("- request:") == 2
    with use_cassette(path, "all") as cassette:  # records afresh: the old file is replaced
        ask("ALARM tank-02: low level")
    assert path.read_text().count("- request:") == 1
    assert "tank-02" in path.read_text()
    assert "pump-07" not in path.read_text()


@pytest.mark.allow_model_requests
def test_a_request_without_a_body_replays(tmp_path: Path, reference: ReferenceModelServer) -> None:
    path = tmp_path / "models.yaml"
    with use_cassette(path, "all"), openai.OpenAI(base_url=reference.base_url, api_key="k") as c:
        live = [model.id for model in c.models.list()]
    assert live
    with (
        _blocked(),
        use_cassette(path, "none") as cassette,
        openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="k") as client,
    ):
        assert [model.id for model in client.models.list()] == live
    assert cassette.replayed == 1
    assert "body" not in yaml.safe_load(path.read_text())["interactions"][0]["request"]


@pytest.mark.allow_model_requests
def test_a_request_made_more_often_than_recorded_is_a_mismatch(
    tmp_path: Path, reference: ReferenceModelServer
) -> None:
    path = tmp_path / "twice.yaml"
    body = _chat(False)
    with use_cassette(path, "all"), openai.OpenAI(base_url=reference.base_url, api_key="k") as c:
        c.chat.completions.create(**body)

    def twice() -> None:
        with (
            use_cassette(path, "none"),
            openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="k", max_retries=0) as client,
        ):
            client.chat.completions.create(**body)
            # The client raises the miss as a 400 (BadRequestError); the block still raises it.
            client.chat.completions.create(**body)

    with pytest.raises(CassetteMismatchError) as raised:
        twice()
    assert raised.value.position == 1
    assert "already replayed" in str(raised.value)
    assert "made more often" in str(raised.value)


@pytest.mark.allow_model_requests
def test_a_miss_is_refused_once_with_a_400_the_client_does_not_retry(
    tmp_path: Path, reference: ReferenceModelServer
) -> None:
    path = tmp_path / "one.yaml"
    with use_cassette(path, "all"), openai.OpenAI(base_url=reference.base_url, api_key="k") as c:
        c.chat.completions.create(**_chat(False))
    drifted = _chat(False) | {"messages": [{"role": "user", "content": "ALARM valve-12: stuck"}]}
    refusals: list[openai.BadRequestError] = []

    def ask() -> None:
        # The client's default: two retries with back-off on a connection error or a 5xx.
        with openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="k") as client:
            try:
                client.chat.completions.create(**drifted)
            except openai.BadRequestError as refused:
                refusals.append(refused)

    with pytest.raises(CassetteMismatchError) as drift, use_cassette(path, "none") as cassette:
        ask()
    assert [error.position for error in cassette.errors] == [drift.value.position] == [0]
    with pytest.raises(MissingCassetteError), use_cassette(tmp_path / "absent.yaml") as missing:
        ask()
    assert len(missing.errors) == 1
    assert [refused.code for refused in refusals] == ["cassette_mismatch", "missing_cassette"]
    assert [refused.response.headers["x-should-retry"] for refused in refusals] == ["false"] * 2
    assert refusals[0].status_code == 400
    assert isinstance(refusals[0].body, dict)
    assert refusals[0].body["message"] == str(drift.value)  # the client sees the diff too


@pytest.mark.allow_model_requests
def test_threads_use_the_cassette_of_the_context_they_carry(
    tmp_path: Path, reference: ReferenceModelServer
) -> None:
    path = tmp_path / "threads.yaml"
    with use_cassette(path, "all"), openai.OpenAI(base_url=reference.base_url, api_key="k") as c:
        expected = c.chat.completions.create(**_chat(False)).model_dump()
    results: dict[str, Any] = {}

    def call(name: str) -> None:
        try:
            with openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="k", max_retries=0) as client:
                results[name] = client.chat.completions.create(**_chat(False)).model_dump()
        except openai.APIConnectionError as error:
            results[name] = error.__cause__

    with _blocked(), use_cassette(path, "none"):
        start_thread(call, "carried").join()
        bare = threading.Thread(target=call, args=("bare",))
        bare.start()
        bare.join()
    assert results["carried"] == expected
    assert isinstance(results["bare"], CassetteError)
    assert "lost the run's context" in str(results["bare"])


@pytest.mark.allow_model_requests
def test_compressed_responses_and_secrets_never_reach_the_cassette(tmp_path: Path) -> None:
    pytest.importorskip("zstandard")
    from tests.core.llm.zstd_server import ZstdServer

    path = tmp_path / "zstd.yaml"
    secret_key = "sk-live-abcdefghijklmnopqrstuvwx"
    with (
        ZstdServer() as server,
        use_cassette(path, "all"),
        openai.OpenAI(
            base_url=server.base_url,
            api_key=secret_key,
            organization="org-secret123",
            project="proj_secret456",
        ) as client,
    ):
        live = client.chat.completions.create(
            **_chat(False), user="end-user-42", metadata={"run": "r1"}
        )
    assert server.encodings == ["zstd"]  # the server did compress
    text = path.read_text()
    assert "!!binary" not in text
    assert "json:" in text
    assert "compressed hello" in text
    for leaked in (
        "abcdefghijklmnop",
        "org-secret123",
        "proj_secret456",
        "end-user-42",
        "session=",
        "authorization",
        "set-cookie",
        "x-request-id",
        "date:",
        "content-encoding",
    ):
        assert leaked not in text.lower(), leaked
    with (
        _blocked(),
        use_cassette(path, "none"),
        openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="other") as client,
    ):
        replayed = client.chat.completions.create(**_chat(False), user="someone-else")
    assert replayed.model_dump() == live.model_dump()


@pytest.mark.allow_model_requests  # it blocks, then lets through, requests to a real server
def test_the_guard_blocks_live_model_requests_only(tmp_path: Path) -> None:
    from agentrig.core.llm.cassettes.http import allow_model_requests

    with ReferenceModelServer() as server, _blocked() as attempts:
        url = f"{server.base_url}/chat/completions"
        assert httpx.get(f"{server.url}/health").status_code in (200, 404)
        with pytest.raises(LiveModelRequestError, match="live model request blocked"):
            httpx.post(url, json=_chat(False))
        with allow_model_requests():
            assert httpx.post(url, json=_chat(False)).is_success
    assert [a.url for a in attempts] == [url]


def _alarm_lines(path: Path) -> set[str]:
    data = yaml.safe_load(path.read_text())
    return {
        message["content"].splitlines()[0]
        for interaction in data["interactions"]
        for message in interaction["request"]["body"]["json"]["messages"]
        if message["role"] == "user" and message["content"].startswith("ALARM")
    }


def _blocked() -> Any:
    from agentrig.core.llm.cassettes.http import block_model_requests

    return block_model_requests()


async def test_the_patch_is_installed_once() -> None:
    # The patch is process-wide and idempotent: installing it twice changes nothing.
    from agentrig.core.llm.cassettes import http as cassette_http

    cassette_http.install_cassette_transport()
    first = httpx.AsyncHTTPTransport.handle_async_request
    cassette_http.install_cassette_transport()
    assert httpx.AsyncHTTPTransport.handle_async_request is first
    await asyncio.sleep(0)
