"""Model endpoints: which OpenAI-compatible server a run talks to, parsed from ``--model``.

Accepted ``--model`` strings (options may follow as ``?timeout=5&max_retries=3``):

================================  =============================================================
``reference``                     the reference model, full skill (``agentrig-operator``)
``reference:hasty``               a persona: ``hasty``, ``sloppy`` (or a full model id)
``openai:gpt-4o-mini``            api.openai.com (``OPENAI_BASE_URL`` overrides); ``OPENAI_API_KEY``
``ollama:llama3.1``               ``http://localhost:11434/v1`` (``OLLAMA_HOST`` overrides)
``vllm:MODEL``                    ``http://localhost:8000/v1`` (``VLLM_BASE_URL``); ``VLLM_API_KEY``
``lmstudio:MODEL``                ``http://localhost:1234/v1`` (``LMSTUDIO_BASE_URL``)
``http://host:port/v1#MODEL``     any OpenAI-compatible URL; key from ``AGENTRIG_MODEL_API_KEY``
================================  =============================================================

Keys are read from the environment into :class:`pydantic.SecretStr` and never appear in reprs,
logs or dumps; :meth:`ModelEndpoint.client_options` is the one place that reveals them, to hand
them to a client. A reference endpoint has no URL until :meth:`ModelEndpoint.resolve` starts (or
reuses) an in-process reference model server for it.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agentrig.core.llm.personas import PERSONAS, REFERENCE_MODEL_ID
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.exceptions import ConfigurationError

__all__ = [
    "ModelEndpoint",
    "Provider",
    "parse_model_spec",
    "shared_reference_server",
    "stop_shared_reference_servers",
]

Provider = Literal["reference", "openai", "ollama", "vllm", "lmstudio", "url"]

REFERENCE_PLACEHOLDER_KEY = "agentrig-reference"  # the reference model needs none; clients want one
_REFERENCE_TIMEOUT_SECONDS = 10.0  # it answers in milliseconds; a timeout fault should not drag
_REMOTE_TIMEOUT_SECONDS = 60.0

_PROVIDERS: dict[str, tuple[str, str, str | None, str | None]] = {
    # provider: (base-URL variable, default base URL, key variable, placeholder key)
    "openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_API_KEY", None),
    "ollama": ("OLLAMA_HOST", "http://localhost:11434/v1", None, "ollama"),
    "vllm": ("VLLM_BASE_URL", "http://localhost:8000/v1", "VLLM_API_KEY", "EMPTY"),
    "lmstudio": ("LMSTUDIO_BASE_URL", "http://localhost:1234/v1", None, "lm-studio"),
}


class ModelEndpoint(BaseModel):
    """Where and how to call a chat model. ``api_key`` is secret: hidden in repr and dumps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider
    model: str
    base_url: str | None = None  # None: a reference endpoint not started yet
    api_key: SecretStr | None = None
    timeout: float = Field(default=_REMOTE_TIMEOUT_SECONDS, gt=0)
    max_retries: int = Field(default=2, ge=0)
    spec: str = ""  # the --model string it came from

    @property
    def is_reference(self) -> bool:
        return self.provider == "reference"

    def resolve(self, *, faults: str | None = None, latency: str | None = None) -> ModelEndpoint:
        """This endpoint with a URL: a reference one gets the shared in-process server's."""
        if self.base_url is not None:
            return self
        server = shared_reference_server(faults=faults, latency=latency)
        return self.model_copy(update={"base_url": server.base_url})

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``openai.OpenAI`` / ``AsyncOpenAI`` (this reveals the key)."""
        if self.base_url is None:
            raise ConfigurationError(
                f"the {self.provider} endpoint for {self.model!r} has no URL yet; call resolve()"
            )
        key = self.api_key.get_secret_value() if self.api_key else REFERENCE_PLACEHOLDER_KEY
        return {
            "base_url": self.base_url,
            "api_key": key,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }


def _options(query: str, spec: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        try:
            if name == "timeout":
                options["timeout"] = float(value)
            elif name == "max_retries":
                options["max_retries"] = int(value)
            else:
                raise ConfigurationError(
                    f"--model {spec!r}: unknown option {name!r}; use timeout or max_retries"
                )
        except ValueError:
            raise ConfigurationError(
                f"--model {spec!r}: {name}={value!r} is not a number"
            ) from None
    return options


def _env_key(variable: str | None, env: Mapping[str, str]) -> SecretStr | None:
    value = env.get(variable, "") if variable else ""
    return SecretStr(value) if value else None


def _reference_model_id(name: str, spec: str) -> str:
    if not name or name in ("full", "reference"):
        return REFERENCE_MODEL_ID
    for model_id, persona in PERSONAS.items():
        if name in (persona.name, model_id):
            return model_id
    choices = ", ".join(f"reference:{p.name}" for p in PERSONAS.values() if p.name != "full")
    raise ConfigurationError(f"--model {spec!r}: no reference persona {name!r}; use {choices}")


def parse_model_spec(spec: str, *, env: Mapping[str, str] | None = None) -> ModelEndpoint:
    """A :class:`ModelEndpoint` from a ``--model`` string (see the module docstring)."""
    environ = os.environ if env is None else env
    text, _, query = spec.strip().partition("?")
    options = _options(query, spec)
    if text.startswith(("http://", "https://")):
        url, _, model = text.partition("#")
        if not model:
            raise ConfigurationError(
                f"--model {spec!r}: name the model after '#', e.g. http://host:8000/v1#my-model"
            )
        if not urlsplit(url).hostname:
            raise ConfigurationError(f"--model {spec!r}: {url!r} has no host")
        return ModelEndpoint(
            provider="url",
            model=model,
            base_url=url.rstrip("/"),
            api_key=_env_key("AGENTRIG_MODEL_API_KEY", environ),
            spec=spec,
            **options,
        )
    provider, _, name = text.partition(":")
    if provider == "reference" or provider in PERSONAS:
        model_id = _reference_model_id(name or (provider if provider in PERSONAS else ""), spec)
        options.setdefault("timeout", _REFERENCE_TIMEOUT_SECONDS)
        key = _env_key("AGENTRIG_REFERENCE_API_KEY", environ)
        return ModelEndpoint(
            provider="reference", model=model_id, api_key=key, spec=spec, **options
        )
    if provider not in _PROVIDERS:
        raise ConfigurationError(
            f"--model {spec!r}: unknown provider {provider!r}; use reference[:persona], "
            "openai:MODEL, ollama:MODEL, vllm:MODEL, lmstudio:MODEL or http://host:port/v1#MODEL"
        )
    if not name:
        raise ConfigurationError(f"--model {spec!r}: name the model, e.g. {provider}:MODEL")
    url_variable, default_url, key_variable, placeholder = _PROVIDERS[provider]
    base_url = environ.get(url_variable) or default_url
    if provider == "ollama" and not base_url.rstrip("/").endswith("/v1"):
        base_url = base_url.rstrip("/") + "/v1"  # OLLAMA_HOST is host:port, without /v1
    if not base_url.startswith(("http://", "https://")):
        base_url = f"http://{base_url}"
    api_key = _env_key(key_variable, environ)
    if api_key is None and placeholder is None:
        raise ConfigurationError(
            f"--model {spec!r} needs an API key: set {key_variable} in the environment"
        )
    return ModelEndpoint(
        provider=provider,
        model=name,
        base_url=base_url.rstrip("/"),
        api_key=api_key or SecretStr(placeholder or ""),
        spec=spec,
        **options,
    )


_shared_servers: dict[tuple[str, str], ReferenceModelServer] = {}
_shared_lock = threading.Lock()


def shared_reference_server(
    *, faults: str | None = None, latency: str | None = None
) -> ReferenceModelServer:
    """One in-process reference model server per (faults, latency), started on first use.

    Stopped at interpreter exit, or by :func:`stop_shared_reference_servers`.
    """
    key = (faults or "none", latency or "off")
    with _shared_lock:
        server = _shared_servers.get(key)
        if server is None or not server.running:
            server = ReferenceModelServer(faults=key[0], latency=key[1]).start()
            if not _shared_servers:
                atexit.register(stop_shared_reference_servers)
            _shared_servers[key] = server
        return server


def stop_shared_reference_servers() -> None:
    """Stop every shared reference model server."""
    with _shared_lock:
        servers = list(_shared_servers.values())
        _shared_servers.clear()
    for server in servers:
        server.stop()
