"""The agentrig pytest plugin: the ``agentrig_replay`` fixture and the live-model guard.

Installed with agentrig (entry point ``pytest11``), so nothing needs registering::

    def test_my_agent(agentrig_replay):
        client = openai.OpenAI(base_url="http://localhost:8765/v1", api_key="unused")
        reply = client.chat.completions.create(model="agentrig-operator", messages=[...])
        assert "ALARM_DEVICE" in reply.choices[0].message.content

replays the test's cassette ``cassettes/<test module path>/<test name>.yaml``; record it once
with ``pytest --agentrig-record-mode=once`` (or re-record with ``all``).

Configuration (pyproject ``[tool.pytest.ini_options]`` or the command line):

=================================  ==================================================================
``agentrig_cassette_dir``          the cassette folder, relative to the rootdir (default ``cassettes``);
                                   ``--agentrig-cassette-dir`` overrides it
``agentrig_record_mode``           ``none`` (default: replay only), ``once``, ``new_episodes``, ``all``;
                                   ``--agentrig-record-mode`` overrides it
``agentrig_block_model_requests``  ``true``: every test fails that reaches a live model without a
                                   cassette, unless marked ``@pytest.mark.allow_model_requests``
                                   (off while recording: record modes other than ``none``)
=================================  ==================================================================

An ``async def`` test that uses ``agentrig_replay`` runs as it is, in a fresh event loop; with
pytest-asyncio (auto mode or ``@pytest.mark.asyncio``) or anyio installed and claiming the test,
that plugin runs it instead.

Markers: ``allow_model_requests`` (this test talks to a model on purpose) and
``agentrig_cassette("path/name.yaml")`` (the test's cassette file, relative to the folder).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import pytest

if TYPE_CHECKING:
    from agentrig.core.llm.cassettes import RecordMode

__all__ = ["agentrig_replay"]

RECORD_MODE_CHOICES = ("none", "once", "new_episodes", "all")
ALLOW_MARKER = "allow_model_requests"
CASSETTE_MARKER = "agentrig_cassette"

_replays = pytest.StashKey[Any]()  # the AgentrigReplay of a test that uses the fixture


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agentrig", "agentrig: recorded LLM traffic")
    group.addoption(
        "--agentrig-record-mode",
        choices=RECORD_MODE_CHOICES,
        default=None,
        help="none: replay only (default); once: record missing cassettes; new_episodes: record "
        "requests no cassette matches; all: record every cassette afresh",
    )
    group.addoption(
        "--agentrig-cassette-dir",
        default=None,
        help="the cassette folder (default: the agentrig_cassette_dir ini value, or cassettes)",
    )
    parser.addini(
        "agentrig_cassette_dir",
        "agentrig: the cassette folder, relative to the rootdir",
        default="cassettes",
    )
    parser.addini(
        "agentrig_record_mode", "agentrig: none, once, new_episodes or all", default="none"
    )
    parser.addini(
        "agentrig_block_model_requests",
        "agentrig: fail tests that reach a live model without a cassette",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_MARKER}: this test may reach a live model (agentrig's guard lets it through)",
    )
    config.addinivalue_line(
        "markers",
        f"{CASSETTE_MARKER}(path): the agentrig_replay cassette of this test, relative to the "
        "cassette folder",
    )


def _record_mode(config: pytest.Config) -> RecordMode:
    mode = config.getoption("--agentrig-record-mode") or config.getini("agentrig_record_mode")
    if mode not in RECORD_MODE_CHOICES:
        raise pytest.UsageError(
            f"agentrig_record_mode = {mode!r}: use one of {', '.join(RECORD_MODE_CHOICES)}"
        )
    return cast("RecordMode", mode)


def _cassette_dir(config: pytest.Config) -> Path:
    directory = Path(
        config.getoption("--agentrig-cassette-dir") or config.getini("agentrig_cassette_dir")
    )
    return directory if directory.is_absolute() else config.rootpath / directory


def _test_cassette_path(item: pytest.Item, directory: Path) -> Path:
    marker = item.get_closest_marker(CASSETTE_MARKER)
    if marker is not None:
        if not marker.args or not isinstance(marker.args[0], str):
            raise pytest.UsageError(
                f"{item.nodeid}: write @pytest.mark.{CASSETTE_MARKER}('path/to/name.yaml')"
            )
        relative = Path(marker.args[0])
        return directory / (relative if relative.suffix else relative.with_suffix(".yaml"))
    from agentrig.core.llm.cassettes import path_segment

    module = item.path.relative_to(item.config.rootpath).with_suffix("")
    return directory / module / f"{path_segment(item.name)}.yaml"


def _refuse_reference_server(**_: Any) -> NoReturn:
    from agentrig.exceptions import ModelError

    raise ModelError(
        "the reference model server is unavailable while replaying (agentrig_replay with record "
        "mode none): every model call must come from a cassette"
    )


@pytest.fixture
def agentrig_replay(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Replay (or record) the LLM traffic of this test; see :mod:`agentrig.testing.replay`."""
    from agentrig.core.llm import endpoints
    from agentrig.core.llm.cassettes.http import bind_exchange_handler
    from agentrig.core.llm.cassettes.player import CassetteSession
    from agentrig.testing.replay import AgentrigReplay

    directory = _cassette_dir(request.config)
    mode = _record_mode(request.config)
    test_command = f"pytest {request.node.nodeid}"
    cassette = CassetteSession(
        _test_cassette_path(request.node, directory),
        mode,
        header=f"agentrig cassette of a test.\nRe-record: {test_command} --agentrig-record-mode=all",
        record_command=f"{test_command} --agentrig-record-mode=once",
        rerecord_command=f"{test_command} --agentrig-record-mode=all",
    )
    if mode == "none":
        # Replay must not need the reference model: make sure nothing can start one.
        monkeypatch.setattr(endpoints, "shared_reference_server", _refuse_reference_server)
    replay = AgentrigReplay(directory=directory, mode=mode, cassette=cassette, out_dir=tmp_path)
    request.node.stash[_replays] = replay
    try:
        with bind_exchange_handler(cassette):
            yield replay
    finally:
        cassette.close()


def _guarded(item: pytest.Item) -> bool:
    """Whether the guard applies: it is on, the test is not marked, and nothing is recording."""
    return (
        bool(item.config.getini("agentrig_block_model_requests"))
        and item.get_closest_marker(ALLOW_MARKER) is None
        # Recording (--agentrig-record-mode once, new_episodes, all) is reaching live models.
        and _record_mode(item.config) == "none"
    )


def _problem(item: pytest.Item, attempts: list[Any]) -> str | None:
    if attempts:
        more = f" (and {len(attempts) - 1} more)" if len(attempts) > 1 else ""
        return f"{attempts[0]}{more}"
    replay = item.stash.get(_replays, None)
    if replay is not None and replay.errors:
        return str(replay.errors[0])
    return None


def _watch(item: pytest.Item) -> Generator[None, Any, Any]:
    """Run one test phase under the guard; fail it on a blocked request or a cassette miss."""
    from agentrig.core.llm.cassettes.http import block_model_requests

    with ExitStack() as stack:
        attempts: list[Any] = stack.enter_context(block_model_requests()) if _guarded(item) else []
        try:
            result = yield
        except BaseException as error:
            problem = _problem(item, attempts)
            if problem is not None and not isinstance(error, pytest.fail.Exception):
                raise pytest.fail.Exception(problem, pytrace=False) from error
            raise
    problem = _problem(item, attempts)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    return result


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses ``agentrig_replay`` when no async plugin took it.

    ``agentrig_replay.run`` is a coroutine, so the documented tests are ``async def``; plain
    pytest fails those ("async def functions are not natively supported") unless a plugin runs
    them. pytest-asyncio (auto mode, or ``@pytest.mark.asyncio``) and anyio hand pytest a
    synchronous function by the time this hook runs, or run the test first (anyio's hook is
    ``tryfirst``), so a test that reaches here still a coroutine function is nobody else's: it
    runs in a fresh event loop, like ``asyncio.run`` in a script.
    """
    test_function = pyfuncitem.obj
    if "agentrig_replay" not in pyfuncitem.fixturenames or not inspect.iscoroutinefunction(
        test_function
    ):
        return None
    values = pyfuncitem.funcargs  # every fixture of the item; the function takes its own
    arguments = {
        name: values[name] for name in inspect.signature(test_function).parameters if name in values
    }
    asyncio.run(test_function(**arguments))
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _watch(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _watch(item))
