"""Fixtures of the adapter tests; the helpers they share are in :mod:`tests.adapters.harness`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.harness import ScriptedModel


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    """The reference model with the expert brain until a test replaces ``decide``; per test."""
    scripted = ScriptedModel()
    with scripted.server:
        yield scripted
