"""StudentProgressActor: one Dapr virtual actor per student (the I/O edge of actors/).

Dapr runs calls to one actor id one at a time (turn-based), reminders included, except
while placement moves actors, when daprd may let a second call in before the first has
finished; ``one_turn`` (actors/turns.py) keeps the order inside this process, so the
read-modify-save below never races with another event for the same student.

Every call follows the same steps: load the state (read once per activation, then kept
parsed in the actor object); hand side effects left in its outbox by an earlier
activation to the effect pump; apply the student's events of one delivery batch, or a
reminder (pure, in actors/rules.py); save the new state with the outbox (one write,
TTL 30 days): the turn's effects and every earlier effect not yet confirmed; hand the
turn's effects to the pump and return. The pump performs them after the turn
(actors/effect_pump.py, decision 008), so a delivery is answered once its states are
saved. A crash at any point leaves either the old state (the redelivered events are
applied afresh) or the new state with its outbox (the redelivered events are duplicates
and the outbox is performed by the next activation).

The stored outbox is not cleared by a write of its own: the next turn's write replaces
it. A new activation finds the last outbox stored, performed or not, and performs it
again: each effect is idempotent (actors/effects.py). ``make bench`` measured the saved
write (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import structlog
from dapr.actor import Actor, ActorId, ActorReminderFailurePolicy, Remindable
from dapr.actor.runtime.context import ActorRuntimeContext
from pydantic import TypeAdapter

from actors.config import DomainConfig
from actors.effect_pump import EffectPump, ReminderChange, outbox_with
from actors.effects import (
    AlertCandidate,
    CancelReminder,
    Effect,
    PublishProgress,
    RaiseAlert,
    SetReminder,
)
from actors.events import LearningEvent, PoisonEvent, parse_event
from actors.interface import StudentProgressActorInterface
from actors.progress_view import progress_view
from actors.rules import apply_events, collapse_turn_effects, expected_reminders, fire_reminder
from actors.state import StudentState
from actors.stored_state import decode_state, encode_state
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

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None: ...

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ActorDeps:
    """What every StudentProgressActor works with. The service builds it once at start-up
    and hands it to each actor through the SDK's actor factory (:func:`actor_factory`)."""

    config: DomainConfig
    outbound: Outbound
    state_ttl_s: int = 30 * 24 * 3600
    clock: Callable[[], datetime] = _utcnow
    # per-id turn locks, shared by every actor object of the process (actors/turns.py)
    turns: TurnLocks = field(default_factory=TurnLocks)
    # effects performed after the turn, shared by every actor object of the process
    pump: EffectPump = field(default_factory=EffectPump)
    # a turn that finds more of its student's effects unconfirmed than this (the broker
    # or the scheduler is failing) first waits for them, up to settle_timeout_s, and
    # fails (the delivery is retried) if they do not settle: the outbox stays bounded
    max_unconfirmed: int = 2000
    settle_timeout_s: float = 10.0


def actor_factory(
    deps: ActorDeps,
) -> Callable[[ActorRuntimeContext, ActorId], StudentProgressActor]:
    """The factory ``register_actor(actor_factory=...)`` takes: actors built with ``deps``."""

    def create(ctx: ActorRuntimeContext, actor_id: ActorId) -> StudentProgressActor:
        return StudentProgressActor(ctx, actor_id, deps)

    return create


_A = TypeVar("_A", bound="StudentProgressActor")
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
        async with self._deps.turns.lock_for(self.id.id):
            try:
                return await method(self, *args, **kwargs)
            except BaseException:
                await self._forget_state()
                raise

    return call


class StudentProgressActor(Actor, StudentProgressActorInterface, Remindable):
    _deps: ActorDeps

    # Per actor object (class values are the defaults; the SDK's mock actor skips
    # __init__): the stored state, parsed once per activation, and whether this object
    # has handed the stored outbox to the pump.
    _loaded: bool = False
    _state: StudentState | None = None
    _outbox_resumed: bool = False

    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, deps: ActorDeps) -> None:
        super().__init__(ctx, actor_id)
        self._deps = deps

    async def _on_activate(self) -> None:
        ACTOR_ACTIVATIONS.inc()

    # ------------------------------------------------------------------ state
    async def _load(self) -> StudentState | None:
        if not self._loaded:
            found, raw = await self._state_manager.try_get_state(STATE_KEY)
            self._state = decode_state(raw) if found and raw is not None else None
            self._outbox_resumed = False
            self._loaded = True
        return self._state

    async def _forget_state(self) -> None:
        """After a failed call nothing in memory is trusted: the next call reads the
        store. The SDK clears its own cache only for DaprInternalError, and its
        save_state marks changes as saved before the write, so after a timeout or a
        cancelled write its cache may hold a state the store never got."""
        self._loaded = False
        self._state = None
        await self._state_manager.clear_cache()

    async def _save(self, state: StudentState) -> None:
        await self._state_manager.set_state_ttl(
            STATE_KEY, encode_state(state), self._deps.state_ttl_s
        )
        await self._state_manager.save_state()

    # ---------------------------------------------------------------- effects
    async def perform_messages(self, effects: list[Effect]) -> None:
        """Progress updates in one bulk publish and alerts, side by side (the pump calls
        this after the turn; each part is idempotent, so if either fails both are
        performed again)."""
        outbound = self._deps.outbound
        parts: list[Coroutine[Any, Any, None]] = []
        progress = [e.payload for e in effects if isinstance(e, PublishProgress)]
        if progress:
            parts.append(outbound.publish_progress(progress))
        alerts = [e.alert for e in effects if isinstance(e, RaiseAlert)]
        if alerts:
            parts.append(outbound.raise_alerts(alerts))
        results = await asyncio.gather(*parts, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def perform_reminder(self, change: ReminderChange) -> None:
        """One reminder change through daprd to the scheduler (the pump calls this)."""
        if isinstance(change, SetReminder):
            await self.register_reminder(
                change.name,
                json.dumps(change.data).encode(),
                due_time=max(change.due_at - self._deps.clock(), timedelta(0)),
                failure_policy=REMINDER_FAILURE_POLICY,
            )
        else:
            await self.unregister_reminder(change.name)

    async def _commit(self, state: StudentState, effects: tuple[Effect, ...]) -> dict[str, Any]:
        """Save ``state`` with the outbox (effects still unconfirmed, then ``effects``)
        in one write, then hand ``effects`` to the pump; how long the save took (ms) and
        how many earlier effects the outbox carried."""
        start = time.perf_counter()
        carried = self._deps.pump.unconfirmed(self.id.id)
        state.outbox = [e.model_dump(mode="json") for e in outbox_with(carried, effects)]
        await self._save(state)
        self._state = state
        self._deps.pump.submit(self.id.id, effects, self)
        return {"save_ms": round((time.perf_counter() - start) * 1000, 2), "carried": len(carried)}

    def _resume_outbox(self, state: StudentState) -> None:
        """Hand the stored outbox to the pump once per activation: it may hold effects an
        earlier activation (or another replica) never confirmed. Those the pump already
        holds for this student are not queued twice."""
        if state.outbox and not self._outbox_resumed:
            pending = self._deps.pump.unconfirmed(self.id.id)
            stored = [_effects.validate_python(raw) for raw in state.outbox]
            self._deps.pump.submit(self.id.id, [e for e in stored if e not in pending], self)
        self._outbox_resumed = True

    async def _settle(self) -> None:
        """Wait until every effect of this student is confirmed (TimeoutError after
        settle_timeout_s: the call fails and is retried)."""
        await asyncio.wait_for(self._deps.pump.settled(self.id.id), self._deps.settle_timeout_s)

    # ---------------------------------------------------------------- methods
    @one_turn
    async def apply_events(self, batch_json: str) -> dict[str, Any]:
        start = time.perf_counter()
        batch = json.loads(batch_json)
        envelopes: list[dict[str, Any]] = batch["events"]
        events: list[LearningEvent] = []
        for envelope in envelopes:
            event = parse_event(envelope.get("type"), envelope.get("data"))
            if event.student_id != self.id.id:
                raise PoisonEvent(f"event {event.event_id} is for student {event.student_id}")
            events.append(event)
        state = await self._load()
        if state is None:
            state = StudentState(student_id=self.id.id)
        else:
            self._resume_outbox(state)
        if len(self._deps.pump.unconfirmed(self.id.id)) > self._deps.max_unconfirmed:
            await self._settle()
        # in place: the state object is this actor's copy, dropped if the turn fails
        new_state, turn = apply_events(state, events, self._deps.config, in_place=True)
        timing: dict[str, float] = {}
        if turn.applied:
            timing = await self._commit(new_state, collapse_turn_effects(turn.effects))
        outcomes = ["duplicate" if o.duplicate else "applied" for o in turn.outcomes]
        log.info(
            "student_turn",
            student_id=self.id.id,
            events=len(events),
            applied=turn.applied,
            duplicates=len(events) - turn.applied,
            alerts=[a.kind for a in turn.alerts],
            trace_ids=batch.get("trace_ids", []),
            duration_ms=round((time.perf_counter() - start) * 1000, 2),
            **timing,
        )
        for event, outcome in zip(events, outcomes, strict=True):
            log.debug("event_applied", event_id=event.event_id, type=event.type, outcome=outcome)
        return {"outcomes": outcomes}

    @one_turn
    async def get_progress(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False}
        return {"found": True, "progress": progress_view(state, self._deps.config)}

    @one_turn
    async def list_reminders(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False, "reminders": []}
        return {"found": True, "reminders": expected_reminders(state, self._deps.config)}

    @one_turn
    async def erase(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False, "reminders_removed": [], "state_removed": False}
        pending = self._deps.pump.unconfirmed(self.id.id)
        names = [r["name"] for r in expected_reminders(state, self._deps.config)]
        names += [e.name for e in pending if isinstance(e, SetReminder) and e.name not in names]
        self._deps.pump.submit(self.id.id, [CancelReminder(name=n) for n in names], self)
        await self._settle()
        removed = names
        await self._state_manager.remove_state(STATE_KEY)
        await self._state_manager.save_state()
        self._state = None
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
        self._resume_outbox(student)
        data = json.loads(state) if state else {}
        new_state, effects = fire_reminder(
            student, name, data, self._deps.clock(), self._deps.config
        )
        log.info(
            "reminder_fired",
            student_id=self.id.id,
            reminder=name,
            alerts=[e.alert.kind for e in effects if isinstance(e, RaiseAlert)],
        )
        if new_state is not student:
            await self._commit(new_state, effects)
        # the re-armed wake-up and the alerts are confirmed before the callback returns:
        # if they cannot be, the scheduler calls again (REMINDER_FAILURE_POLICY)
        await self._settle()
