"""ClassProgressActor: one Dapr virtual actor per class, counting its students' error
signals into class-wide misconceptions (the pure rule: actors/misconceptions.py).

Students' actors reach it through Dapr actor calls made when they perform their outbox
(service/actorhost/outbound.py): a signal is retried until a class actor took it, and counting
each student once per topic and error type makes a repeated one harmless — the reason
for calls rather than events in decision 009. A call loads the class's state, performs an
outbox an interrupted call left, applies the signals, saves the state with the alerts
they raise as its outbox, then raises them (the student actor's steps, without batches
or reminders).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from dapr.actor import Actor, ActorId
from dapr.actor.runtime.context import ActorRuntimeContext

from actors.effects import AlertCandidate, ErrorSignal
from actors.interface import ClassProgressActorInterface
from actors.misconceptions import ClassState, forget_student, record_signals
from actors.student_actor import ActorDeps

STATE_KEY = "class"
log = structlog.get_logger("class_actor")


def class_actor_factory(
    deps: ActorDeps,
) -> Callable[[ActorRuntimeContext, ActorId], ClassProgressActor]:
    """The factory ``register_actor(actor_factory=...)`` takes, as for students."""

    def create(ctx: ActorRuntimeContext, actor_id: ActorId) -> ClassProgressActor:
        return ClassProgressActor(ctx, actor_id, deps)

    return create


class ClassProgressActor(Actor, ClassProgressActorInterface):
    _deps: ActorDeps
    _state: ClassState | None = None
    _loaded: bool = False
    _outbox_done: bool = False

    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, deps: ActorDeps) -> None:
        super().__init__(ctx, actor_id)
        self._deps = deps

    async def _load(self) -> ClassState:
        if not self._loaded:
            found, raw = await self._state_manager.try_get_state(STATE_KEY)
            self._state = (
                ClassState.model_validate_json(raw)
                if found and raw is not None
                else ClassState(class_id=self.id.id)
            )
            self._outbox_done = False
            self._loaded = True
        assert self._state is not None
        return self._state

    async def _raise(self, state: ClassState) -> None:
        alerts = [AlertCandidate.model_validate(a) for a in state.outbox]
        if alerts:
            await self._deps.outbound.raise_alerts(alerts)
        self._outbox_done = True

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One call at a time (the turn lock of actors/turns.py, under a key no student
        id can take); a call that fails forgets what it loaded, so the next reads the
        stored state."""
        async with self._deps.turns.lock_for(f"class actor {self.id.id}"):
            try:
                yield
            except BaseException:
                self._loaded, self._state = False, None
                await self._state_manager.clear_cache()
                raise

    async def _save(self, new: ClassState) -> None:
        await self._state_manager.set_state_ttl(
            STATE_KEY, new.model_dump_json(), self._deps.state_ttl_s
        )
        await self._state_manager.save_state()

    async def record_signals(self, payload_json: str) -> dict[str, Any]:
        async with self._turn():
            return await self._record(json.loads(payload_json))

    async def forget_student(self, student_id: str) -> dict[str, Any]:
        async with self._turn():
            new, removed = forget_student(await self._load(), student_id)
            if removed:
                await self._save(new)
                self._state = new
            return {"removed": removed}

    async def _record(self, payload: dict[str, Any]) -> dict[str, Any]:
        signals = [ErrorSignal.model_validate(s) for s in payload["signals"]]
        state = await self._load()
        if not self._outbox_done:
            await self._raise(state)
        new, alerts = record_signals(state, signals, int(payload["class_size"]), self._deps.config)
        new.outbox = [a.model_dump(mode="json") for a in alerts]
        if new != state:
            await self._save(new)
            self._state, self._outbox_done = new, False
            await self._raise(new)
        log.info(
            "class_signals",
            class_id=self.id.id,
            signals=len(signals),
            raised=[a.topic_id for a in alerts],
        )
        return {"raised": len(alerts)}
