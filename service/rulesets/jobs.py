"""Background dry runs (decision 011): a dry run over more retained events than one
request answers (service/rulesets/dry_run.py MAX_EVENTS) is recorded as running in the
dry_runs table (service/rulesets/job_store.py) and replayed by a process of its own
(service/rulesets/worker.py), started by the replica that accepted it. The replica
writes the run's heartbeat while the process lives: any replica answers a poll, and one
whose replica stopped is marked failed there."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from actors.config import DomainConfig
from service.errors import InvalidInput
from service.eventlog.log import EventLog
from service.rulesets.job_store import HEARTBEAT, DryRunStore
from service.settings import REPO_DIR

log = structlog.get_logger("dry_runs")
STOP_GRACE = 5.0  # seconds a worker has to stop on SIGTERM before SIGKILL


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
    def __init__(self, store: DryRunStore, event_log: EventLog, max_events: int) -> None:
        self.store = store
        self._event_log = event_log
        self.max_events = max_events
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, request: DryRunRequest) -> dict[str, Any]:
        """Counts the events, records the dry run as running and starts its worker;
        refused (:class:`InvalidInput`) above ``max_events``, (:class:`Conflict`) while
        another runs."""
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
        task = asyncio.create_task(self._watch(job["id"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _watch(self, run_id: str) -> None:
        """Start the worker, write the heartbeat until it exits; a worker that exits
        without writing its end leaves the run failed."""
        try:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.rulesets.worker",
                run_id,
                stdin=asyncio.subprocess.DEVNULL,
                cwd=REPO_DIR,  # where ``service`` is importable from
            )
        except OSError as exc:
            await self._failed(run_id, f"the dry run's process did not start: {exc}")
            return
        try:
            while True:
                try:
                    await asyncio.wait_for(worker.wait(), HEARTBEAT.total_seconds())
                    break
                except TimeoutError:
                    await self._beat(run_id)
        except asyncio.CancelledError:
            await self._stop(worker)
            await self._failed(run_id, "stopped with its replica; start it again")
            raise
        if worker.returncode != 0:  # its own failure was written, unless it was killed
            await self._failed(run_id, f"the dry run's process exited with {worker.returncode}")

    async def _beat(self, run_id: str) -> None:
        try:
            await self.store.beat(run_id)
        except Exception as exc:  # the database away: the next beat tries again
            log.warning("dry_run_heartbeat_failed", dry_run=run_id, error=repr(exc))

    @staticmethod
    async def _stop(worker: asyncio.subprocess.Process) -> None:
        if worker.returncode is not None:
            return
        worker.terminate()
        try:
            await asyncio.wait_for(worker.wait(), STOP_GRACE)
        except TimeoutError:
            worker.kill()
            await worker.wait()

    async def _failed(self, run_id: str, why: str) -> None:
        """Marks a still running dry run failed (a finished one stays as it ended)."""
        try:
            await self.store.fail(run_id, why)
        except Exception as exc:  # left running, no heartbeat: marked failed when stale
            log.warning("dry_run_not_marked_failed", dry_run=run_id, error=repr(exc))

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
        """Stop the workers started here (each run is marked failed)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
