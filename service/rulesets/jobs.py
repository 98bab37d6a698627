"""Background dry runs (decision 011): a dry run over more retained events than one
request answers (service/rulesets/dry_run.py MAX_EVENTS) runs in the replica that
accepted it, a chunk of students at a time, in a worker process of lower priority — the
replay is pure CPU and must not take the event loop, or the CPU, from live events. Its
progress, heartbeat and report go to the dry_runs table (service/rulesets/job_store.py),
so any replica answers a poll; one whose replica stops is marked failed there."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from actors.config import DomainConfig
from service.errors import InvalidInput
from service.eventlog.log import EventLog
from service.rosters.repository import RosterRepository
from service.rulesets.dry_run import DryRunTally, in_chunks, replay_chunk
from service.rulesets.job_store import HEARTBEAT, DryRunStore

log = structlog.get_logger("dry_runs")
WORKER_NICENESS = 10
# Events read and replayed per step: each step's read and hand-over to the worker holds
# the event loop a little (bench/dry_runs.py: 20,000 per step stalled it up to ~300 ms).
CHUNK_EVENTS = 5_000


def _lower_priority() -> None:
    """In the worker process: live events come first."""
    os.nice(WORKER_NICENESS)


@dataclass(frozen=True)
class DryRunRequest:
    """A dry run resolved: the rule sets compared, the students and the range."""

    requested_by: str
    current: DomainConfig
    candidate: DomainConfig
    candidate_version: int | None
    candidate_rules: dict[str, Any]
    class_id: str | None
    members: list[str] | None  # the class's students; None: every student in the range
    since: datetime
    until: datetime


class DryRunJobs:
    def __init__(
        self,
        store: DryRunStore,
        event_log: EventLog,
        rosters: RosterRepository,
        max_events: int,
    ) -> None:
        self.store = store
        self._event_log = event_log
        self._rosters = rosters
        self.max_events = max_events
        self._pool: ProcessPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, request: DryRunRequest) -> dict[str, Any]:
        """Counts the events, records the dry run as running and starts it; refused
        (:class:`InvalidInput`) above ``max_events``, (:class:`Conflict`) while another
        runs."""
        counts = await self._event_log.counts_per_student(
            request.members, request.since, request.until
        )
        total = sum(counts.values())
        if total > self.max_events:
            raise InvalidInput(
                f"{total} retained events in this class and range, at most {self.max_events} "
                "per background dry run (PROGRESS_DRY_RUN_MAX_EVENTS): narrow the range "
                "(from, to) or name a class"
            )
        job = await self.store.create(
            requested_by=request.requested_by,
            class_id=request.class_id,
            since=request.since,
            until=request.until,
            current_version=request.current.rules_version,
            candidate_version=request.candidate_version,
            candidate=request.candidate_rules,
            students_total=len(counts),
            events_total=total,
        )
        task = asyncio.create_task(self._run(job["id"], request, counts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def _worker(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
            )
        return self._pool

    async def _beat(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            try:
                await self.store.beat(run_id)
            except Exception:  # the database away: the next beat tries again
                log.warning("dry_run_heartbeat_failed", dry_run=run_id, exc_info=True)

    async def _run(self, run_id: str, request: DryRunRequest, counts: dict[str, int]) -> None:
        beating = asyncio.create_task(self._beat(run_id))
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            tally = DryRunTally()
            classes: dict[str, dict[str, int]] = {}
            for chunk in in_chunks(counts, CHUNK_EVENTS):
                logged = await self._event_log.texts_of(chunk, request.since, request.until)
                part = await loop.run_in_executor(
                    self._worker(),
                    replay_chunk,
                    logged,
                    request.current,
                    request.candidate,
                    request.until,
                )
                tally.add(part)
                classes.update(await self._rosters.classes_of(chunk))
                await self.store.progress(run_id, tally.students, tally.events + tally.skipped)
            if request.class_id is not None:  # only the class asked about
                classes = {
                    sid: {c: n for c, n in mine.items() if c == request.class_id}
                    for sid, mine in classes.items()
                }
            report = await asyncio.to_thread(
                tally.report, classes, request.current, request.candidate
            )
            await self.store.finish(run_id, report)
            log.info(
                "dry_run_done",
                dry_run=run_id,
                events=tally.events,
                seconds=round(loop.time() - started, 2),
            )
        except asyncio.CancelledError:
            await self._failed(run_id, "stopped with its replica; start it again")
            raise
        except Exception as exc:
            log.exception("dry_run_failed", dry_run=run_id)
            await self._failed(run_id, f"{type(exc).__name__}: {exc}")
        finally:
            beating.cancel()
            self._stop_worker()  # dry runs are rare: no idle process between them

    def _stop_worker(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _failed(self, run_id: str, why: str) -> None:
        try:
            await self.store.fail(run_id, why)
        except Exception:  # left running, its heartbeat stops: marked failed when stale
            log.warning("dry_run_not_marked_failed", dry_run=run_id, exc_info=True)

    async def prune_once(self) -> None:
        """Finished dry runs past their keeping dropped, logged; the database away: the
        next period tries again."""
        try:
            pruned = await self.store.prune()
        except Exception as exc:  # logged; the next period tries again
            log.warning("dry_runs_prune_failed", error=repr(exc))
            return
        if pruned:
            log.info("dry_runs_pruned", dry_runs=pruned)

    async def aclose(self) -> None:
        """Stop what runs here (each is marked failed), and the worker process."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._stop_worker()
