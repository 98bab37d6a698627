"""StudentProgressActor: one Dapr virtual actor per student (the I/O edge of actors/).

Dapr runs calls to one actor id one at a time (turn-based), reminders included, except
while placement moves actors, when daprd may let a second call in before the first has
finished; ``one_turn`` (actors/turns.py) keeps the order inside this process, so the
read-modify-save below never races with another event for the same student.

Every call follows the same steps: load the state; finish side effects left in its
outbox by an interrupted earlier call; apply the event or reminder (pure, in
actors/engine.py); save the new state with its new effects in the outbox (one write,
TTL 30 days); perform the effects; clear the outbox. A crash at any point leaves either
the old state (the redelivered event is applied afresh) or the new state with its
outbox (the redelivered event is a duplicate and the outbox is performed then).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import structlog
from dapr.actor import Actor, ActorReminderFailurePolicy, Remindable
from pydantic import TypeAdapter

from actors.config import DomainConfig
from actors.effects import (
    AlertCandidate,
    CancelReminder,
    Effect,
    PublishProgress,
    RaiseAlert,
    SetReminder,
)
from actors.engine import apply_event, expected_reminders, fire_reminder
from actors.events import parse_event
from actors.interface import StudentProgressActorInterface
from actors.progress_view import progress_view
from actors.state import StudentState
from actors.telemetry import ACTOR_ACTIVATIONS
from actors.turns import TurnLocks

STATE_KEY = "student"
# A reminder whose callback fails (state store or broker down) is retried every 10 s
# for 10 minutes, not in a tight loop, and not forever.
REMINDER_FAILURE_POLICY = ActorReminderFailurePolicy.constant_policy(
    interval=timedelta(seconds=10), max_retries=60
)
log = structlog.get_logger("actor")
_effects: TypeAdapter[Effect] = TypeAdapter(Effect)


class Outbound(Protocol):
    """Where alerts and progress updates go (the service provides it)."""

    async def raise_alert(self, alert: AlertCandidate) -> bool: ...

    async def publish_progress(self, payload: dict[str, Any]) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


_TURNS = TurnLocks()
_A = TypeVar("_A", bound=Actor)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def one_turn(
    method: Callable[Concatenate[_A, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_A, _P], Coroutine[Any, Any, _R]]:
    """Run the actor method while holding its id's turn lock (see actors/turns.py).

    On any failure the SDK's state cache is dropped: the SDK clears it only for
    DaprInternalError, and its save_state marks changes as saved before the write, so
    after a timeout or a cancelled write the cache may hold a state the store never got.
    The next call then reads the store.
    """

    @functools.wraps(method)
    async def call(self: _A, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with _TURNS.lock_for(self.id.id):
            try:
                return await method(self, *args, **kwargs)
            except BaseException:
                await self._state_manager.clear_cache()
                raise

    return call


class StudentProgressActor(Actor, StudentProgressActorInterface, Remindable):
    # Set once at start-up by the service, before any actor is activated.
    domain_config: DomainConfig = DomainConfig()
    state_ttl_s: int = 30 * 24 * 3600
    outbound: Outbound | None = None
    clock: Callable[[], datetime] = staticmethod(_utcnow)

    async def _on_activate(self) -> None:
        ACTOR_ACTIVATIONS.inc()

    # ------------------------------------------------------------------ state
    async def _load(self) -> StudentState | None:
        found, raw = await self._state_manager.try_get_state(STATE_KEY)
        if not found or raw is None:
            return None
        if isinstance(raw, str):
            return StudentState.model_validate_json(raw)
        return StudentState.model_validate(raw)  # written before state was stored as text

    async def _save(self, state: StudentState) -> None:
        # Stored as one JSON text, not as an object: the SDK's JSON deserializer turns
        # every ISO-8601-looking string inside an object into a datetime, which broke
        # the outbox (alert details no longer JSON-serialisable after a crash).
        await self._state_manager.set_state_ttl(
            STATE_KEY, state.model_dump_json(), self.state_ttl_s
        )
        await self._state_manager.save_state()

    # ---------------------------------------------------------------- effects
    async def _perform(self, effect: Effect) -> None:
        if isinstance(effect, SetReminder):
            due = max(effect.due_at - self.clock(), timedelta(0))
            await self.register_reminder(
                effect.name,
                json.dumps(effect.data).encode(),
                due_time=due,
                failure_policy=REMINDER_FAILURE_POLICY,
            )
        elif isinstance(effect, CancelReminder):
            await self.unregister_reminder(effect.name)
        elif isinstance(effect, RaiseAlert):
            assert self.outbound is not None, "StudentProgressActor.outbound not configured"
            await self.outbound.raise_alert(effect.alert)
        elif isinstance(effect, PublishProgress):
            assert self.outbound is not None, "StudentProgressActor.outbound not configured"
            await self.outbound.publish_progress(effect.payload)

    async def _commit(self, state: StudentState, effects: tuple[Effect, ...]) -> None:
        """Save ``state`` with ``effects`` as its outbox, perform them, clear it."""
        state.outbox = [e.model_dump(mode="json") for e in effects]
        await self._save(state)
        await self._drain(state)

    async def _drain(self, state: StudentState) -> None:
        if not state.outbox:
            return
        for raw in state.outbox:
            await self._perform(_effects.validate_python(raw))
        state.outbox = []
        await self._save(state)

    # ---------------------------------------------------------------- methods
    @one_turn
    async def apply_event(self, envelope: dict[str, Any]) -> dict[str, Any]:
        event = parse_event(envelope.get("type"), envelope.get("data"))
        state = await self._load()
        if state is None:
            state = StudentState(student_id=self.id.id)
        else:
            await self._drain(state)
        new_state, outcome = apply_event(state, event, self.domain_config)
        if outcome.duplicate:
            return {"outcome": "duplicate", "changed_topics": [], "alerts": []}
        await self._commit(new_state, outcome.effects)
        return {
            "outcome": "applied",
            "changed_topics": list(outcome.changed_topics),
            "alerts": [a.kind for a in outcome.alerts],
        }

    @one_turn
    async def get_progress(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False}
        return {"found": True, "progress": progress_view(state, self.domain_config)}

    @one_turn
    async def list_reminders(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False, "reminders": []}
        return {"found": True, "reminders": expected_reminders(state, self.domain_config)}

    @one_turn
    async def erase(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False, "reminders_removed": [], "state_removed": False}
        removed = []
        for reminder in expected_reminders(state, self.domain_config):
            await self.unregister_reminder(reminder["name"])
            removed.append(reminder["name"])
        await self._state_manager.remove_state(STATE_KEY)
        await self._state_manager.save_state()
        log.info("student_erased", student_id=self.id.id, reminders=len(removed))
        return {"found": True, "reminders_removed": removed, "state_removed": True}

    @one_turn
    async def receive_reminder(
        self,
        name: str,
        state: bytes,
        due_time: timedelta,
        period: timedelta,
        ttl: timedelta | None = None,
    ) -> None:
        student = await self._load()
        if student is None:
            log.info("reminder_without_state", student_id=self.id.id, reminder=name)
            return
        await self._drain(student)
        data = json.loads(state) if state else {}
        new_state, effects = fire_reminder(student, name, data, self.clock(), self.domain_config)
        log.info(
            "reminder_fired",
            student_id=self.id.id,
            reminder=name,
            alerts=[e.alert.kind for e in effects if isinstance(e, RaiseAlert)],
        )
        if effects:
            await self._commit(new_state, effects)
