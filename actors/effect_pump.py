"""Effects performed after the turn that decided them has returned (decision 008).

A turn saves the student's state with its effects in the outbox and returns: the
delivery is answered once the state is saved, and the lane takes its next batch without
waiting for Kafka's acknowledgement of a publish or for the Dapr scheduler (which takes
about 160 reminder writes a second here, docs/performance.md). The pump, one per
process, then performs each student's effects:

- **messages** (progress updates, alerts) in the order of the turns, one turn's batch
  at a time per student, so a student's messages never overtake each other;
- **reminder changes** apart from them, the latest per name only: a change superseded
  before it was written is never written, and a slow scheduler delays no message. At
  most ``reminder_writes`` scheduler writes are in flight in the process.

A failed effect is retried, with a growing pause, until it succeeds or a later change
supersedes it. Until an effect is confirmed, each later turn of the student stores it in
its outbox again (:meth:`EffectPump.unconfirmed`), so a crash loses none: the next
activation performs the stored outbox (every effect is idempotent, actors/effects.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from actors.effects import CancelReminder, Effect, SetReminder
from actors.telemetry import EFFECT_RETRIES, STUDENTS_WITH_UNCONFIRMED_EFFECTS

ReminderChange = SetReminder | CancelReminder
log = structlog.get_logger("effects")


class Performer(Protocol):
    """Performs effects for one student (the student's actor object)."""

    async def perform_messages(self, effects: list[Effect]) -> None: ...

    async def perform_reminder(self, change: ReminderChange) -> None: ...


def is_reminder(effect: Effect) -> bool:
    return isinstance(effect, SetReminder | CancelReminder)


def outbox_with(carried: Sequence[Effect], new: Sequence[Effect]) -> list[Effect]:
    """The outbox a turn stores: the effects still unconfirmed from earlier turns, then
    its own. A carried reminder change the new effects change again is left out (only
    the latest per name is ever written)."""
    renamed = {e.name for e in new if isinstance(e, SetReminder | CancelReminder)}
    kept = [
        e
        for e in carried
        if not (isinstance(e, SetReminder | CancelReminder) and e.name in renamed)
    ]
    return [*kept, *new]


@dataclass
class _Student:
    performer: Performer
    messages: deque[list[Effect]] = field(default_factory=deque)
    reminders: dict[str, ReminderChange] = field(default_factory=dict)
    message_worker: asyncio.Task[None] | None = None
    reminder_worker: asyncio.Task[None] | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def is_settled(self) -> bool:
        return not self.messages and not self.reminders


class EffectPump:
    """Per process: every student's effects not yet confirmed, and the tasks performing
    them. A student has an entry only while something of theirs is unconfirmed."""

    def __init__(
        self,
        reminder_writes: int = 4,
        first_retry_s: float = 0.5,
        max_retry_s: float = 10.0,
    ) -> None:
        self._students: dict[str, _Student] = {}
        self._reminder_slots = asyncio.Semaphore(reminder_writes)
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s

    # ------------------------------------------------------------------ queries
    def unconfirmed(self, student_id: str) -> list[Effect]:
        """The student's effects not yet confirmed, in the order they were submitted
        (messages by turn, then the wanted reminder changes)."""
        student = self._students.get(student_id)
        if student is None:
            return []
        messages = [e for batch in student.messages for e in batch]
        return [*messages, *student.reminders.values()]

    def __len__(self) -> int:
        """Students with something unconfirmed."""
        return len(self._students)

    async def settled(self, student_id: str) -> None:
        """Return once nothing of the student is unconfirmed."""
        student = self._students.get(student_id)
        if student is not None:
            await student.settled.wait()

    async def drain(self, timeout_s: float) -> int:
        """At shutdown: wait up to ``timeout_s`` for every student to settle; the number
        of students still unsettled (their effects are in their stored outboxes)."""
        waits = [asyncio.ensure_future(s.settled.wait()) for s in self._students.values()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout_s)
            for wait in pending:
                wait.cancel()
        left = len(self._students)
        for student in list(self._students.values()):
            for task in (student.message_worker, student.reminder_worker):
                if task is not None:
                    task.cancel()
        return left

    # ------------------------------------------------------------------ submit
    def submit(self, student_id: str, effects: Sequence[Effect], performer: Performer) -> None:
        """Queue one turn's effects (or a stored outbox found on activation). Returns at
        once; the workers start on the next pass of the event loop."""
        if not effects:
            return
        student = self._students.get(student_id)
        if student is None:
            student = _Student(performer)
            self._students[student_id] = student
            STUDENTS_WITH_UNCONFIRMED_EFFECTS.set(len(self._students))
        student.performer = performer
        student.settled.clear()
        messages = [e for e in effects if not is_reminder(e)]
        if messages:
            student.messages.append(messages)
            if student.message_worker is None:
                student.message_worker = asyncio.create_task(self._messages(student_id, student))
        for effect in effects:
            if isinstance(effect, SetReminder | CancelReminder):
                student.reminders[effect.name] = effect
        if student.reminders and student.reminder_worker is None:
            student.reminder_worker = asyncio.create_task(self._reminders(student_id, student))

    # ----------------------------------------------------------------- workers
    async def _messages(self, student_id: str, student: _Student) -> None:
        failures = 0
        while student.messages:
            batch = student.messages[0]
            try:
                await student.performer.perform_messages(batch)
            except Exception as exc:  # any failure: retried, logged, counted
                failures += 1
                await self._pause(student_id, "messages", exc, failures)
                continue
            failures = 0
            student.messages.popleft()
        student.message_worker = None
        self._settle(student_id, student)

    async def _reminders(self, student_id: str, student: _Student) -> None:
        failures = 0
        while student.reminders:
            name, change = next(iter(student.reminders.items()))
            try:
                async with self._reminder_slots:
                    await student.performer.perform_reminder(change)
            except Exception as exc:  # any failure: retried, logged, counted
                failures += 1
                await self._pause(student_id, f"reminder {name}", exc, failures)
                continue
            failures = 0
            if student.reminders.get(name) is change:  # not changed again meanwhile
                del student.reminders[name]
        student.reminder_worker = None
        self._settle(student_id, student)

    async def _pause(self, student_id: str, what: str, exc: Exception, failures: int) -> None:
        pause = min(self._first_retry_s * 2 ** (failures - 1), self._max_retry_s)
        EFFECT_RETRIES.inc()
        log.warning(
            "effect_retry",
            student_id=student_id,
            effect=what,
            error=f"{type(exc).__name__}: {exc}",
            failures=failures,
            retry_in_s=pause,
        )
        await asyncio.sleep(pause)

    def _settle(self, student_id: str, student: _Student) -> None:
        if (
            student.is_settled()
            and student.message_worker is None
            and (student.reminder_worker is None)
        ):
            student.settled.set()
            if self._students.get(student_id) is student:
                del self._students[student_id]
                STUDENTS_WITH_UNCONFIRMED_EFFECTS.set(len(self._students))
