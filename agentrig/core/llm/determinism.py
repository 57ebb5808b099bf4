"""Seeded draws that depend only on their inputs, so the same request always gets the same reply.

Python's ``hash()`` is salted per process and ``random.Random`` carries hidden state; the reference
model instead derives every "random" choice from a BLAKE2b digest of what it is about (the request
body, the seed, an attempt number), which is stable across processes, machines and runs.
"""

from __future__ import annotations

import hashlib

__all__ = ["digest", "unit_draw"]


def digest(*parts: object, size: int = 16) -> str:
    """A hex digest of the parts' ``str()`` forms, separated so ("ab", "c") != ("a", "bc")."""
    chunks = []
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        chunks.append(len(data).to_bytes(8, "big"))
        chunks.append(data)
    return hashlib.blake2b(b"".join(chunks), digest_size=size).hexdigest()


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) determined by the parts: a seeded coin that never changes its mind."""
    return int(digest(*parts, size=8), 16) / 2**64
