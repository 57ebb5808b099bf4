"""The ``ChatOpenAI`` models of the ``langchain`` and ``langgraph`` adapters, one per event loop.

Both adapters ask the model through ``langchain_openai.ChatOpenAI`` built the same way, so they
share this cache rather than each keeping a copy of it: a model built once per (event loop,
endpoint) with an ``httpx`` client of its own -- langchain-openai otherwise shares one cached
client process-wide, whose pool belongs to the first event loop that used it -- and with
streaming and the LLM cache turned off, so every answer comes from one real model call.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    import openai
    from langchain_openai import ChatOpenAI
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangChain adapter", "langchain") from error

__all__ = ["ChatModels", "LoopChatModel", "build_chat_model"]


@dataclass
class LoopChatModel:
    """A ``ChatOpenAI`` and the HTTP client it owns, which only its event loop may use or close."""

    model: ChatOpenAI
    http_client: openai.DefaultAsyncHttpxClient


def build_chat_model(endpoint: ModelEndpoint) -> LoopChatModel:
    """A ``ChatOpenAI`` for ``endpoint`` with a new HTTP client, no streaming and no LLM cache."""
    options = endpoint.client_options()
    http_client = openai.DefaultAsyncHttpxClient(timeout=options["timeout"])
    model = ChatOpenAI(
        model=endpoint.model,
        base_url=options["base_url"],
        api_key=options["api_key"],
        timeout=options["timeout"],
        max_retries=options["max_retries"],
        http_async_client=http_client,
        streaming=False,
        disable_streaming=True,  # even when a streaming callback is attached
        cache=False,  # never answer from a global LLM cache
    )
    return LoopChatModel(model, http_client)


class ChatModels(LoopClients[LoopChatModel]):
    """One :class:`LoopChatModel` per (event loop, endpoint), built on first use.

    A :class:`~agentrig.adapters._loop_cache.LoopClients` itself, so the conformance suite finds
    it on the adapter and checks that each loop gets its own model.

    Example::

        models = ChatModels()
        chat = models.model(ctx.model)  # the running loop's model for this endpoint
        ...
        await models.aclose()  # in the adapter's aclose(), on the same loop
    """

    def model(self, endpoint: ModelEndpoint) -> ChatOpenAI:
        """The running loop's model for ``endpoint``."""
        return self.get(endpoint_digest(endpoint), lambda: build_chat_model(endpoint)).model

    async def aclose(self) -> None:
        """Forget the running loop's models and close their HTTP clients."""
        for cached in self.pop_loop():
            await cached.http_client.aclose()
