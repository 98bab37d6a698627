"""The effect pump (actors/effect_pump.py): a student's messages go out in turn order and
are retried until they do; reminder changes are written apart from them, only the latest
per name; what is not confirmed stays visible for the next turn's outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from actors.effect_pump import EffectPump, ReminderChange, outbox_with
from actors.effects import CancelReminder, Effect, PublishProgress, SetReminder

T = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def progress(n: int) -> PublishProgress:
    return PublishProgress(payload={"n": n})


def wake(minute: int) -> SetReminder:
    return SetReminder(name="wake", due_at=T.replace(minute=minute), data={})


class Recorder:
    """A performer that records what it was asked to do; messages fail while
    ``fail_messages`` > 0, reminder writes wait for ``reminder_gate``."""

    def __init__(self, fail_messages: int = 0) -> None:
        self.fail_messages = fail_messages
        self.messages: list[int] = []
        self.reminders: list[ReminderChange] = []
        self.reminder_gate = asyncio.Event()
        self.reminder_gate.set()
        self.writing = 0
        self.most_writing = 0

    async def perform_messages(self, effects: list[Effect]) -> None:
        if self.fail_messages:
            self.fail_messages -= 1
            raise ConnectionError("broker down")
        self.messages += [e.payload["n"] for e in effects if isinstance(e, PublishProgress)]

    async def perform_reminder(self, change: ReminderChange) -> None:
        self.writing += 1
        self.most_writing = max(self.most_writing, self.writing)
        try:
            await self.reminder_gate.wait()
            self.reminders.append(change)
        finally:
            self.writing -= 1


async def settle(pump: EffectPump, student: str) -> None:
    await asyncio.wait_for(pump.settled(student), 5)


async def test_messages_go_out_in_turn_order_across_failures() -> None:
    pump = EffectPump(first_retry_s=0.001)
    recorder = Recorder(fail_messages=3)
    for n in range(5):
        pump.submit("s1", [progress(n)], recorder)
    assert pump.unconfirmed("s1") == [progress(n) for n in range(5)]
    await settle(pump, "s1")
    assert recorder.messages == [0, 1, 2, 3, 4]
    assert pump.unconfirmed("s1") == [] and len(pump) == 0


async def test_a_reminder_changed_again_before_it_was_written_is_written_once() -> None:
    pump = EffectPump()
    recorder = Recorder()
    recorder.reminder_gate.clear()
    pump.submit("s1", [wake(30)], recorder)
    await asyncio.sleep(0)  # the write of 9:30 is in flight
    pump.submit("s1", [wake(20)], recorder)
    pump.submit("s1", [wake(10)], recorder)
    assert pump.unconfirmed("s1") == [wake(10)]
    recorder.reminder_gate.set()
    await settle(pump, "s1")
    # 9:30 was already on its way; 9:20 was superseded before its turn came
    assert recorder.reminders == [wake(30), wake(10)]


async def test_a_slow_reminder_write_holds_up_no_message() -> None:
    pump = EffectPump()
    recorder = Recorder()
    recorder.reminder_gate.clear()
    pump.submit("s1", [progress(1), wake(30)], recorder)
    pump.submit("s1", [progress(2)], recorder)
    for _ in range(20):
        await asyncio.sleep(0)
    assert recorder.messages == [1, 2]
    assert pump.unconfirmed("s1") == [wake(30)]
    recorder.reminder_gate.set()
    await settle(pump, "s1")


async def test_reminder_writes_in_flight_are_bounded_per_process() -> None:
    pump = EffectPump(reminder_writes=3)
    recorder = Recorder()
    recorder.reminder_gate.clear()
    for i in range(10):
        pump.submit(f"s{i}", [wake(30)], recorder)
    for _ in range(20):
        await asyncio.sleep(0)
    assert recorder.writing == 3
    recorder.reminder_gate.set()
    for i in range(10):
        await settle(pump, f"s{i}")
    assert recorder.most_writing == 3 and len(recorder.reminders) == 10


async def test_drain_reports_students_left_unsettled() -> None:
    pump = EffectPump(first_retry_s=10)
    pump.submit("s1", [progress(1)], Recorder(fail_messages=1))
    pump.submit("s2", [progress(2)], Recorder())
    assert await pump.drain(timeout_s=0.2) == 1


def test_the_outbox_carries_unconfirmed_effects_but_only_the_latest_reminder_change() -> None:
    carried: list[Effect] = [progress(1), wake(30), CancelReminder(name="stuck-x")]
    new: list[Effect] = [progress(2), wake(10)]
    assert outbox_with(carried, new) == [
        progress(1),
        CancelReminder(name="stuck-x"),
        progress(2),
        wake(10),
    ]
