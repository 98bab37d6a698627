"""``python -m service.rulesets.worker RUN_ID``: one background dry run, in a process of
its own (decision 011). The replica that accepted the dry run starts it and waits; this
process reads the run from the dry_runs table, rebuilds the two rule sets from the
settings and the stored versions, replays the retained events a chunk of students at a
time, writes its progress after each chunk and the report (or why it failed) at the
end. Its memory is returned when it exits, and the app's event loop never runs a replay.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import timedelta
from typing import Any

import structlog

from actors.config import DomainConfig
from service.db import create_engine, create_write_pool
from service.eventlog.log import EventLog
from service.log_config import configure_logging
from service.rosters.repository import RosterRepository
from service.rulesets.dry_run import DryRunTally, in_chunks, of_class, replay_chunk
from service.rulesets.job_store import DryRunStore
from service.rulesets.model import RuleSetIn, to_config
from service.rulesets.repository import RuleSetRepository, stored_rules
from service.settings import Settings, domain_config, get_settings

log = structlog.get_logger("dry_run_worker")
NICENESS = 10  # live events first
# Events read and replayed per step: progress is written after each.
CHUNK_EVENTS = 5_000


async def _configs(
    run: dict[str, Any], base: DomainConfig, rule_sets: RuleSetRepository
) -> tuple[DomainConfig, DomainConfig]:
    """The rules in force when the dry run started, and the candidate."""
    current = base
    if run["current_version"]:
        stored = await rule_sets.get(run["current_version"])
        current = to_config(base, stored_rules(stored), run["current_version"])
    candidate = to_config(
        base, RuleSetIn.model_validate(run["candidate"]), run["candidate_version"] or 0
    )
    return current, candidate


async def replay(run_id: str, settings: Settings) -> None:
    engine = create_engine(settings)
    log_pool = await create_write_pool(settings, size=1)  # the event log's reads
    store = DryRunStore(engine)
    started = time.monotonic()
    try:
        run = await store.get(run_id)
        event_log = EventLog(log_pool, timedelta(days=settings.event_retention_days))
        rosters = RosterRepository(engine)
        current, candidate = await _configs(run, domain_config(settings), RuleSetRepository(engine))
        since, until, class_id = run["since"], run["until"], run["class_id"]
        members: list[str] | None = None
        if class_id is not None:
            roster = await rosters.roster(class_id)
            members = sorted(roster.student_ids) if roster is not None else []
        counts = await event_log.counts_per_student(members, since, until)
        tally = DryRunTally()
        classes: dict[str, dict[str, int]] = {}
        for chunk in in_chunks(counts, CHUNK_EVENTS):
            logged = await event_log.events_of(chunk, since, until)
            tally.add(replay_chunk(logged, current, candidate, until))
            classes.update(await rosters.classes_of(chunk))
            await store.progress(run_id, tally.students, tally.events + tally.skipped)
        await store.finish(run_id, tally.report(of_class(classes, class_id), current, candidate))
        log.info(
            "dry_run_done",
            dry_run=run_id,
            events=tally.events,
            students=tally.students,
            seconds=round(time.monotonic() - started, 1),
        )
    except Exception as exc:
        log.exception("dry_run_failed", dry_run=run_id)
        await store.fail(run_id, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        await log_pool.close()
        await engine.dispose()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m service.rulesets.worker RUN_ID")
    os.nice(NICENESS)
    settings = get_settings()
    configure_logging(settings)
    asyncio.run(replay(sys.argv[1], settings))


if __name__ == "__main__":
    main()
