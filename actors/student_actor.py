"""StudentProgressActor: one Dapr virtual actor per student (the I/O edge of actors/).

Dapr runs calls to one actor id one at a time (turn-based), reminders included, except
while placement moves actors, when daprd may let a second call in before the first has
finished; ``one_turn`` (actors/turns.py) keeps the order inside this process, so the
read-modify-save below never races with another event for the same student.

Every call follows the same steps: load the state (read once per activation, then kept
parsed in the actor object, and read again once the store may have dropped it:
``STATE_RECHECK``); finish side effects left in its outbox by an interrupted earlier
call; apply the student's events of one delivery batch, or a reminder (pure, in
actors/rules.py); save the new state with its new effects in the outbox (one write,
TTL 30 days, ``PROGRESS_ACTOR_STATE_TTL_S``, counted from every save); perform the
effects. Every save, a reminder's included, writes the read model's snapshot, so the
read model knows when the state expires (service/readmodel/projection.py). A crash at
any point leaves either the old state (the redelivered events are applied afresh) or the
new state with its outbox (the redelivered events are duplicates and the outbox is
performed then).

The stored outbox is not cleared by a write of its own: the next turn's write replaces
it. So a new activation (after an idle deactivation or a crash) may find an outbox that
was already performed still stored, and performs it again: each effect is idempotent
(actors/effects.py). ``make bench`` measured the saved write (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, runtime_checkable

import structlog
from dapr.actor import Actor, ActorId, ActorReminderFailurePolicy, Remindable
from dapr.actor.runtime.context import ActorRuntimeContext

from actors.config import DomainConfig
from actors.effects import (
    AlertCandidate,
    CancelReminder,
    Effect,
    ErrorSignal,
    ProjectProgress,
    PublishProgress,
    RaiseAlert,
    SetReminder,
    SignalErrors,
)
from actors.event_batch import decode_batch
from actors.interface import StudentProgressActorInterface
from actors.outbox import known_effects, unknown_effects
from actors.progress_view import TopicKey, progress_snapshot, progress_view
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
# An activation that stays busy (a call at least every idle timeout) keeps its copy of
# the state longer than the store keeps the state. It reads the store again when the
# state's TTL has run out since its save (StudentState.saved_at); when that time is not
# known (a state an older release saved), this often.
STATE_RECHECK = timedelta(hours=1)
log = structlog.get_logger("actor")


class Outbound(Protocol):
    """Where alerts and progress updates go (the service provides it)."""

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None: ...

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None: ...

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None: ...

    async def signal_errors(self, signals: list[ErrorSignal]) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class ReminderReader(Protocol):
    """The actor client's reminder lookup (service/dapr/http_client.py)."""

    async def get_reminder(
        self, actor_type: str, actor_id: str, name: str
    ) -> dict[str, Any] | None: ...


@dataclass
class ActorDeps:
    """What every StudentProgressActor works with. The service builds it once at start-up
    and hands it to each actor through the SDK's actor factory (:func:`actor_factory`).
    ``config`` is replaced when an admin applies a rule set (service/rulesets/live.py);
    a turn reads it once."""

    config: DomainConfig
    outbound: Outbound
    state_ttl_s: int = 30 * 24 * 3600
    clock: Callable[[], datetime] = _utcnow
    # per-id turn locks, shared by every actor object of the process (actors/turns.py)
    turns: TurnLocks = field(default_factory=TurnLocks)


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
    # has performed its outbox.
    _loaded: bool = False
    _state: StudentState | None = None
    _outbox_done: bool = False
    # the read model's topic rows as this object last wrote them (actors/progress_view.py)
    _projected: dict[str, TopicKey] | None = None
    # until when the stored state is known to outlive the copy in ``_state``
    _fresh_until: datetime | None = None

    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, deps: ActorDeps) -> None:
        super().__init__(ctx, actor_id)
        self._deps = deps

    async def _on_activate(self) -> None:
        ACTOR_ACTIVATIONS.inc()

    # ------------------------------------------------------------------ state
    async def _load(self) -> StudentState | None:
        if self._loaded and self._state is not None and self._past_fresh():
            await self._recheck()
        if not self._loaded:
            found, raw = await self._state_manager.try_get_state(STATE_KEY)
            self._state = decode_state(raw) if found and raw is not None else None
            self._outbox_done = False
            self._loaded = True
            if self._state is not None:
                self._fresh_until = self._trusted_until(self._state)
        return self._state

    def _trusted_until(self, state: StudentState) -> datetime:
        """Until when the store surely still holds ``state``: its TTL after its save; if
        that is unknown, or already past (an older release saved it since: its
        ``saved_at`` is stale), :data:`STATE_RECHECK` from now."""
        now = self._deps.clock()
        if state.saved_at is not None:
            expires = state.saved_at + timedelta(seconds=self._deps.state_ttl_s)
            if expires > now:
                return expires
        return now + STATE_RECHECK

    def _past_fresh(self) -> bool:
        return self._fresh_until is not None and self._deps.clock() >= self._fresh_until

    async def _recheck(self) -> None:
        """The store may have dropped the state since this activation read or saved it
        (its TTL ran out while calls kept the activation alive): read it again, so a
        state gone from the store is gone here too (GET /progress answers 404, and the
        next event begins a new life). Found as it was, its outbox stays performed."""
        cached, done = self._state, self._outbox_done
        await self._forget_state()
        state = await self._load()
        if state is None:
            log.info("student_state_expired", student_id=self.id.id)
        elif cached is not None and state.outbox == cached.outbox:
            self._outbox_done = done

    async def _forget_state(self) -> None:
        """After a failed call nothing in memory is trusted: the next call reads the
        store. The SDK clears its own cache only for DaprInternalError, and its
        save_state marks changes as saved before the write, so after a timeout or a
        cancelled write its cache may hold a state the store never got."""
        self._loaded = False
        self._state = None
        self._projected = None
        self._fresh_until = None
        await self._state_manager.clear_cache()

    async def _save(self, state: StudentState) -> None:
        """Every save sets the TTL afresh (the store drops the state that long after its
        last save) and records when (``saved_at``: the read model's rows follow it)."""
        state.saved_at = self._deps.clock()
        await self._state_manager.set_state_ttl(
            STATE_KEY, encode_state(state), self._deps.state_ttl_s
        )
        await self._state_manager.save_state()

    # ---------------------------------------------------------------- effects
    async def _perform(self, effects: list[Effect], state: StudentState) -> None:
        """Perform one outbox, its parts side by side: progress updates in one bulk
        publish, alerts, the read model's snapshot, error signals to the student's
        classes, and each reminder change (already
        reduced to the last one per name, so no two touch the same reminder). Each part
        is idempotent, so their order does not matter; if any fails the whole outbox is
        performed again."""
        outbound = self._deps.outbound
        parts: list[Coroutine[Any, Any, None]] = []
        progress = [e.payload for e in effects if isinstance(e, PublishProgress)]
        if progress:
            parts.append(outbound.publish_progress(progress))
        alerts = [e.alert for e in effects if isinstance(e, RaiseAlert)]
        if alerts:
            parts.append(outbound.raise_alerts(alerts))
        signals = [s for e in effects if isinstance(e, SignalErrors) for s in e.signals]
        if signals:
            parts.append(outbound.signal_errors(signals))
        projected = None
        if any(isinstance(e, ProjectProgress) for e in effects):
            snapshot, projected = progress_snapshot(state, self._deps.config, self._projected)
            parts.append(outbound.project_progress([snapshot]))
        for effect in effects:
            if isinstance(effect, SetReminder):
                parts.append(
                    self.register_reminder(
                        effect.name,
                        json.dumps(effect.data).encode(),
                        due_time=max(effect.due_at - self._deps.clock(), timedelta(0)),
                        failure_policy=REMINDER_FAILURE_POLICY,
                    )
                )
            elif isinstance(effect, CancelReminder):
                parts.append(self.unregister_reminder(effect.name))
        results = await asyncio.gather(*parts, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        if projected is not None:
            self._projected = projected

    async def _commit(self, state: StudentState, effects: tuple[Effect, ...]) -> dict[str, float]:
        """Save ``state`` with ``effects`` as its outbox (one write), then perform them;
        how long each step took (ms)."""
        start = time.perf_counter()
        # effects of a newer release stay until a release that knows them performs them
        state.outbox = [
            *unknown_effects(state.outbox),
            *(e.model_dump(mode="json") for e in effects),
        ]
        await self._save(state)
        self._state, self._outbox_done = state, False
        self._fresh_until = self._trusted_until(state)
        saved = time.perf_counter()
        await self._perform(list(effects), state)
        self._outbox_done = True
        done = time.perf_counter()
        timing = {
            "save_ms": round((saved - start) * 1000, 2),
            "effects_ms": round((done - saved) * 1000, 2),
        }
        return timing

    async def _finish_outbox(self, state: StudentState) -> None:
        """Perform an outbox stored by a call that did not get to perform it."""
        if state.outbox and not self._outbox_done:
            unknown = unknown_effects(state.outbox)
            if unknown:
                log.warning(
                    "outbox_effects_unknown",
                    student_id=self.id.id,
                    ops=sorted({str(raw.get("op")) for raw in unknown}),
                    kept=len(unknown),
                )
            await self._perform(known_effects(state.outbox), state)
            self._outbox_done = True

    # ---------------------------------------------------------------- methods
    @one_turn
    async def apply_event_batch(self, body: bytes) -> dict[str, Any]:
        return await self._apply(body)

    @one_turn
    async def apply_events(self, batch_json: str) -> dict[str, Any]:
        return await self._apply(batch_json)

    async def _apply(self, body: str | bytes) -> dict[str, Any]:
        """One delivery batch's events of this student (actors/event_batch.py), in the
        turn the caller holds."""
        start = time.perf_counter()
        events, trace_ids = decode_batch(body, self.id.id)
        state = await self._load()
        if state is None:
            # a new life (the first, or after the last one expired or was erased): the
            # read model holds none of its topics, so the first snapshot carries them all
            state = StudentState(student_id=self.id.id)
            self._projected = None
        else:
            await self._finish_outbox(state)
        # in place: the state object is this actor's copy, dropped if the turn fails
        new_state, turn = apply_events(state, events, self._deps.config, in_place=True)
        timing: dict[str, float] = {}
        if turn.applied:
            effects = (*collapse_turn_effects(turn.effects), ProjectProgress())
            timing = await self._commit(new_state, effects)
        outcomes = ["duplicate" if o.duplicate else "applied" for o in turn.outcomes]
        log.info(
            "student_turn",
            student_id=self.id.id,
            events=len(events),
            applied=turn.applied,
            duplicates=len(events) - turn.applied,
            alerts=[a.kind for a in turn.alerts],
            trace_ids=trace_ids,
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
        """The reminders the state expects, each with what the scheduler holds of it
        (``scheduler``, None when absent): asked here, through the sidecar of the process
        that hosts the actor, the only one daprd lets read an actor type's reminders."""
        state = await self._load()
        if state is None:
            return {"found": False, "reminders": []}
        reminders = expected_reminders(state, self._deps.config)
        client = self._runtime_ctx.dapr_client
        if isinstance(client, ReminderReader):
            for reminder in reminders:
                reminder["scheduler"] = await client.get_reminder(
                    self._runtime_ctx.actor_type_info.type_name, self.id.id, reminder["name"]
                )
        return {"found": True, "reminders": reminders}

    @one_turn
    async def erase(self) -> dict[str, Any]:
        state = await self._load()
        if state is None:
            return {"found": False, "reminders_removed": [], "state_removed": False}
        removed = []
        for reminder in expected_reminders(state, self._deps.config):
            await self.unregister_reminder(reminder["name"])
            removed.append(reminder["name"])
        await self._state_manager.remove_state(STATE_KEY)
        await self._state_manager.save_state()
        self._state = None
        self._fresh_until = None
        self._projected = None  # erasure empties the read model too: write it whole again
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
        await self._finish_outbox(student)
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
