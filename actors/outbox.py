"""Reading a stored outbox that a newer release may have written (decision 012).

An effect whose ``op`` this code knows is performed; one it does not know (a kind a
newer release added) is neither performed nor dropped: it stays in the outbox, carried
into every later save, until a release that knows it performs it. Every effect is
idempotent (actors/effects.py), so performing it late, or twice, is harmless.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import TypeAdapter

from actors.effects import Effect

_effects: TypeAdapter[Effect] = TypeAdapter(Effect)
KNOWN_OPS: frozenset[str] = frozenset(
    op
    for model in typing.get_args(Effect)
    for op in typing.get_args(model.model_fields["op"].annotation)
)


def known_effects(outbox: list[dict[str, Any]]) -> list[Effect]:
    """The stored effects this code performs, in their stored order."""
    return [_effects.validate_python(raw) for raw in outbox if raw.get("op") in KNOWN_OPS]


def unknown_effects(outbox: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored effects this code cannot perform: kept as stored, in order."""
    return [raw for raw in outbox if raw.get("op") not in KNOWN_OPS]
