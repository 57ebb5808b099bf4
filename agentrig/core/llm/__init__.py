"""Models: endpoints, the reference model server, personas, fault injection and latency.

The reference model is an OpenAI-compatible Chat Completions server of ours that plays the
maintenance roles from what the conversation says, driven by the plant's expert policy::

    from agentrig.core.llm import ReferenceModelServer, parse_model_spec

    with ReferenceModelServer(faults="flaky") as server:
        ...  # point any OpenAI client at server.base_url, model "agentrig-operator"

    endpoint = parse_model_spec("reference:hasty").resolve()   # or "openai:gpt-4o-mini", ...
    openai.OpenAI(**endpoint.client_options())

See docs/reference-model.md.
"""

from __future__ import annotations

from agentrig.core.llm.conversation import Conversation, understand
from agentrig.core.llm.endpoints import (
    ModelEndpoint,
    parse_model_spec,
    shared_reference_server,
    stop_shared_reference_servers,
)
from agentrig.core.llm.faults import FAULT_PROFILES, FaultInjector, FaultKind, FaultProfile
from agentrig.core.llm.latency import LATENCY_PRESETS, LatencyModel
from agentrig.core.llm.mistakes import MistakeKind
from agentrig.core.llm.model import ReferenceModel
from agentrig.core.llm.personas import PERSONAS, REFERENCE_MODEL_ID, Persona, persona_for
from agentrig.core.llm.server import ReferenceModelApp, ServerSettings
from agentrig.core.llm.serving import ReferenceModelServer, serve_forever
from agentrig.core.llm.tokens import count_tokens

__all__ = [
    "FAULT_PROFILES",
    "LATENCY_PRESETS",
    "PERSONAS",
    "REFERENCE_MODEL_ID",
    "Conversation",
    "FaultInjector",
    "FaultKind",
    "FaultProfile",
    "LatencyModel",
    "MistakeKind",
    "ModelEndpoint",
    "Persona",
    "ReferenceModel",
    "ReferenceModelApp",
    "ReferenceModelServer",
    "ServerSettings",
    "count_tokens",
    "parse_model_spec",
    "persona_for",
    "serve_forever",
    "shared_reference_server",
    "stop_shared_reference_servers",
    "understand",
]
