"""Fixtures of the adapter tests; the helpers they share are in :mod:`tests.adapters.harness`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentrig.core.llm.brain import default_decide
from agentrig.core.llm.endpoints import ModelEndpoint
from tests.adapters.harness import ScriptedModel


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    """The reference model with the expert brain until a test replaces ``decide``; per test."""
    scripted = ScriptedModel()
    with scripted.server:
        yield scripted


@pytest.fixture(scope="module")
def module_model() -> Iterator[ScriptedModel]:
    """The reference model, started once for a whole test module; tests take it as ``brain``."""
    scripted = ScriptedModel()
    with scripted.server:
        yield scripted


@pytest.fixture
def brain(module_model: ScriptedModel) -> ScriptedModel:
    """The module's reference model, its call counts cleared and the expert brain back in place."""
    module_model.calls.clear()
    module_model.decide = default_decide()
    return module_model


@pytest.fixture
def endpoint(brain: ScriptedModel) -> ModelEndpoint:
    """The module's reference model as an endpoint (through ``brain``, so it starts clean too)."""
    return brain.endpoint()
