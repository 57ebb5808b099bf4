"""Every framework's ``patches`` module: its internals still exist, nothing applies on import,
and a framework version outside the supported range is refused in one line.

Each framework package (``agentrig/adapters/<framework>/patches.py``) lists the private framework
attributes its adapter wraps, overrides or uses (``INTERNALS``) and the versions they were checked
on (``SUPPORTED``); ``apply()`` runs when the adapter is built. A framework upgrade that renames
one of those attributes fails here, by name, rather than half-way through a run.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from types import ModuleType

import pytest

from agentrig.adapters import _patching
from agentrig.adapters._patching import VersionRange
from agentrig.core.contract.registry import load_adapter
from agentrig.exceptions import UnsupportedFrameworkVersionError

FRAMEWORKS = ["langchain", "autogen", "crewai"]
FRAMEWORKS.append("agent-framework")
FRAMEWORKS.append("smolagents")
FRAMEWORKS.append("pydantic-ai")
FRAMEWORKS.append("openai-agents")


def patches_of(framework: str) -> ModuleType:
    return importlib.import_module(f"agentrig.adapters.{framework.replace('-', '_')}.patches")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_internal_relied_on_still_exists(framework: str) -> None:
    patches = patches_of(framework)
    assert patches.INTERNALS, "a patches module lists what it relies on"
    missing = [i.name for i in patches.INTERNALS if not hasattr(i.owner, i.attribute)]
    assert missing == []
    for internal in patches.INTERNALS:
        if internal.change == "wrapped":  # replaced by a function that calls the original
            assert callable(getattr(internal.owner, internal.attribute))
        assert internal.why  # each says what it changes in the framework


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_installed_framework_is_in_the_supported_range(framework: str) -> None:
    for supported in patches_of(framework).SUPPORTED:
        installed = supported.check()
        assert supported.contains(installed)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_importing_an_adapter_changes_no_framework_until_it_is_built(
    framework: str,
) -> None:
    code = (
        "import importlib, logging, sys\n"
        f"importlib.import_module('agentrig.adapters.{framework.replace('-', '_')}')\n"
        f"patches = importlib.import_module("
        f"'agentrig.adapters.{framework.replace('-', '_')}.patches')\n"
        "def crewai_marks():\n"
        "    if 'crewai' not in sys.modules:\n"
        "        return []\n"
        "    from crewai.agents.agent_executor import AgentExecutor\n"
        "    return [\n"
        "        getattr(AgentExecutor._execute_single_native_tool_call,\n"
        "                '_agentrig_passes_call_id', False),\n"
        "        getattr(AgentExecutor._should_parallelize_native_tool_calls,\n"
        "                '_agentrig_in_order', False),\n"
        "        bool(logging.getLogger().filters),\n"
        "    ]\n"
        "print(patches.applied(), crewai_marks())\n"
        f"from agentrig.core.contract.registry import load_adapter\n"
        f"load_adapter('{framework}')\n"
        "print(patches.applied(), crewai_marks())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTRIG_LOG_LEVEL": "WARNING"},
        check=True,
    )
    before, after = done.stdout.strip().splitlines()[-2:]
    if framework == "crewai":
        assert (before, after) == ("False [False, False, False]", "True [True, True, True]")
    else:
        assert (before, after) == ("False []", "True []")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_framework_version_outside_the_range_is_refused_in_one_line(
    framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    patches = patches_of(framework)
    supported: VersionRange = patches.SUPPORTED[0]
    adapter_class = type(load_adapter(framework))
    monkeypatch.setattr(_patching, "version", lambda distribution: "99.0.1")
    monkeypatch.setattr(patches._PATCHES, "_applied", False)  # as in a process not yet patched
    with pytest.raises(UnsupportedFrameworkVersionError) as refused:
        adapter_class()
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        f"{supported.distribution} 99.0.1 is installed, but agentrig's {framework} adapter "
        f"relies on its internals as of {supported.distribution}{supported}: "
        f"pip install '{supported.distribution}{supported}'"
    )
    assert (refused.value.distribution, refused.value.installed) == (
        supported.distribution,
        "99.0.1",
    )
    assert not patches.applied()


@pytest.mark.parametrize(
    ("installed", "inside"),
    [
        ("1.15.0", True),
        ("1.15.30", True),
        ("1.16.0", False),
        ("1.16.0rc1", False),
        ("1.14.9", False),
    ],
)
def test_a_version_range_is_minimum_inclusive_and_below_exclusive(
    installed: str, inside: bool
) -> None:
    assert VersionRange("crewai", "1.15", "1.16", "crewai").contains(installed) is inside
