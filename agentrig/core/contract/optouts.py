"""Keep the frameworks from phoning home, which offline costs tens of seconds or hangs.

Measured on this project's machines with no internet: CrewAI's telemetry adds 10-30 s at process
exit, its tracing prompt waits 20 s on a terminal, its version check asks PyPI on every crew;
LangSmith tracing, when on, adds 12-89 s. Every agentrig entry point (the CLI, each adapter module,
the test suite) calls :func:`disable_phone_home` before any framework is imported.

It also keeps CrewAI's per-project storage out of HOME: CrewAI keeps it in
``~/.local/share/<name of the current folder>/``, created when ``crewai`` is imported, so every
agentrig command used to leave an empty folder there. ``CREWAI_STORAGE_DIR`` (CrewAI's own
setting for that name) points it at a folder in the temporary directory instead: an absolute
value replaces the whole path. Two more folders ``import crewai`` creates under HOME have no
setting and stay: ``~/.config/crewai/`` (its CLI settings) and ``~/.local/share/crewai/credentials/``
(the key of its login tokens).

The OpenAI Agents SDK exports every trace to ``api.openai.com`` by default (with
``OPENAI_API_KEY``). Its one variable, ``OPENAI_AGENTS_DISABLE_TRACING``, is deliberately *not*
set: it stops the SDK's tracing altogether, and with it the OpenInference processor that turns
the SDK's spans into OpenTelemetry. Instead only the exporting processor is dropped: the
OpenInference instrumentor replaces the SDK's processors with its own, and the adapter takes the
default one out when it is built (``agentrig.adapters.openai_agents.patches``).

``OTEL_SDK_DISABLED`` is deliberately *not* used: it silences CrewAI but also turns agentrig's own
OpenTelemetry tracer into a no-op.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path

__all__ = ["PHONE_HOME_OPT_OUTS", "crewai_storage_dir", "disable_phone_home"]

PHONE_HOME_OPT_OUTS: dict[str, str] = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    # AutoGen's ~55 internal runtime spans per team run drown the GenAI spans we compare.
    "AUTOGEN_DISABLE_RUNTIME_TRACING": "true",
    "HF_HUB_OFFLINE": "1",
    # LiteLLM (Google ADK's bridge to OpenAI-compatible servers) fetches its model price map from
    # GitHub on import: offline, three attempts and ~10 s, then its bundled copy, which this uses.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # Agent Framework's OpenAI clients tell the provider its version (an agent-framework-version
    # header, its User-Agent) and, to Azure OpenAI, a bitmask of the features the process used
    # ("(feat=...)"). agentrig hands it its own AsyncOpenAI, which sends neither; these keep it so.
    "AGENT_FRAMEWORK_USER_AGENT_DISABLED": "true",
    "AGENT_FRAMEWORK_FEATURE_MASK_DISABLED": "true",
    # smolagents (via huggingface_hub): no usage telemetry to the Hub.
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # `import smolagents` runs python-dotenv's load_dotenv() (smolagents/remote_executors.py),
    # which puts the first .env above smolagents' install folder (a project's own, when its venv
    # is inside it) -- or above the current folder, under `python -c` or a debugger -- into
    # os.environ.
    "PYTHON_DOTENV_DISABLED": "1",
    # Pydantic AI imports no logfire (only the logfire-api shim, which does nothing without it);
    # should an application install logfire and call configure(), it still sends nothing.
    "LOGFIRE_SEND_TO_LOGFIRE": "false",
    # Ray (compare --executor ray) reports cluster usage to anyscale.com unless told not to.
    "RAY_USAGE_STATS_ENABLED": "0",
}


def crewai_storage_dir() -> Path:
    """Where CrewAI's storage goes instead of HOME: one folder per user in the temp directory."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"agentrig-crewai-{user}"


def disable_phone_home() -> None:
    """Set each opt-out unless the user has set that variable already (their choice wins)."""
    for name, value in PHONE_HOME_OPT_OUTS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("CREWAI_STORAGE_DIR", str(crewai_storage_dir()))
