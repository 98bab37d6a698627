"""StudentProgressActor: one Dapr virtual actor per student.

Dapr runs actor calls turn-based (one at a time per actor id), so the read-modify-save
below never races with another event for the same student.
"""

from __future__ import annotations

from typing import Any

from dapr.actor import Actor

from actors.events import parse_event
from actors.interface import StudentProgressActorInterface
from actors.progress_view import progress_view
from actors.state import DomainConfig, StudentState, apply_event

STATE_KEY = "student"


class StudentProgressActor(Actor, StudentProgressActorInterface):
    # Set once at start-up by the service (from settings) before any actor is created.
    domain_config: DomainConfig = DomainConfig()
    state_ttl_s: int = 30 * 24 * 3600

    async def _load(self) -> StudentState | None:
        found, raw = await self._state_manager.try_get_state(STATE_KEY)
        if not found or raw is None:
            return None
        return StudentState.model_validate(raw)

    async def apply_event(self, envelope: dict[str, Any]) -> dict[str, Any]:
        event = parse_event(envelope.get("type"), envelope.get("data"))
        state = await self._load() or StudentState(student_id=self.id.id)
        new_state, applied = apply_event(state, event, self.domain_config)
        if applied.duplicate:
            return {"outcome": "duplicate", "changed_topics": []}
        await self._state_manager.set_state_ttl(
            STATE_KEY, new_state.model_dump(mode="json"), self.state_ttl_s
        )
        await self._state_manager.save_state()
        return {"outcome": "applied", "changed_topics": list(applied.changed_topics)}

    async def get_progress(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False}
        return {"found": True, "progress": progress_view(state, self.domain_config)}
