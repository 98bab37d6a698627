"""The floor's intake: one actor call per entry, a student's entries one after the other
in offset order, every entry answered SUCCESS or RETRY (a failed call makes that entry
and the student's later entries RETRY, as the service's intake does, so order holds when
daprd re-sends them). An entry without a student or an event id is dropped (DROP)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.floor.clients import ActorCalls

log = logging.getLogger("floor.intake")

SUCCESS = "SUCCESS"
RETRY = "RETRY"
DROP = "DROP"


@dataclass(frozen=True)
class Entry:
    entry_id: str
    student_id: str
    event_id: str


def decode(entry_id: str, data: Any) -> Entry | None:
    """An entry from its event's ``data`` (a dict, or its JSON bytes / text); None when
    it is not one of the driver's events."""
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
    if not isinstance(data, dict):
        return None
    student, event = data.get("student_id"), data.get("event_id")
    if not isinstance(student, str) or not isinstance(event, str) or not student:
        return None
    return Entry(entry_id, student, event)


def by_student(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.student_id, []).append(e)
    return groups


class Intake:
    def __init__(self, calls: ActorCalls, max_turns: int) -> None:
        self._calls = calls
        self._turns = asyncio.Semaphore(max_turns)

    async def handle(self, entries: list[Entry], dropped: Iterable[str] = ()) -> dict[str, str]:
        """entry id -> status for a batch (``dropped``: ids that did not decode)."""
        statuses = dict.fromkeys(dropped, DROP)
        await asyncio.gather(
            *(self._student(group, statuses) for group in by_student(entries).values())
        )
        return statuses

    async def _student(self, entries: list[Entry], statuses: dict[str, str]) -> None:
        for i, entry in enumerate(entries):
            try:
                async with self._turns:
                    await self._calls.apply(entry.student_id, entry.event_id)
            except Exception as exc:  # transient: daprd re-sends the RETRY entries
                log.warning("actor call failed for %s: %r", entry.student_id, exc)
                for later in entries[i:]:
                    statuses[later.entry_id] = RETRY
                return
            statuses[entry.entry_id] = SUCCESS

    async def one(self, entry: Entry) -> str:
        """A single message (streaming delivery: daprd sends a partition's next message
        after this one's answer)."""
        statuses: dict[str, str] = {}
        await self._student([entry], statuses)
        return statuses[entry.entry_id]
