"""Fit the knowledge tracing parameters from the retained event log: ``make fit-mastery``
(``python -m service.knowledge_fit [--days N] [--create]``).

Every retained event of the range, per student in delivery order (the order the actors
applied them), becomes an answer where it is one (actors/knowledge_tracing.py
``observation``, with the topic's pass mark as the actors use it). Students are split by
a hash of their id: four in five fit the parameters per topic
(actors/mastery_fit.py ``fit_topics``; a topic with too few answers keeps the
parameters in force), the fifth is held out and reports how well each next answer is
predicted — log-loss and AUC — under the fitted parameters and under those in force.

Nothing changes until an admin says so: with ``--create`` the fit is stored as a new rule
set version, the one in force with the fitted parameters as its ``knowledge_tracing``,
not applied. Like any rule set it is dry-run (``POST /rules/dry-run {"version": N}``:
the wheel_spinning alerts it would add or remove) and applied
(``POST /rules/sets/N/apply``), or left alone. Runs beside the service, on its database;
the fit is CPU work of this process only (decision 020).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.config import DomainConfig
from actors.events import PoisonEvent, parse_event
from actors.knowledge_tracing import ParameterSet, observation
from actors.mastery_fit import Evaluation, Sequences, evaluate, fit_topics
from service.db import create_engine, create_write_pool
from service.eventlog.log import EventLog
from service.rulesets.dry_run import in_chunks
from service.rulesets.model import RuleSetIn, to_config
from service.rulesets.repository import RuleSetRepository
from service.settings import Settings, domain_config, get_settings

CHUNK_EVENTS = 20_000
HELD_OUT_ONE_IN = 5


def answers_by_topic(
    logged: Mapping[str, Iterable[Mapping[str, Any]]], config: DomainConfig
) -> dict[str, dict[str, list[bool]]]:
    """topic -> student -> answers in delivery order, from logged events (``{"type",
    "data"}``, data as JSON text or a dict), each judged with its topic's pass mark as the
    actor's turn judges it. An event that no longer validates is skipped."""
    out: dict[str, dict[str, list[bool]]] = {}
    for student_id, events in logged.items():
        for logged_event in events:
            data = logged_event["data"]
            try:
                event = parse_event(
                    logged_event["type"], json.loads(data) if isinstance(data, str) else data
                )
            except PoisonEvent:
                continue
            if event.topic_id is None:  # the events that are answers all name a topic
                continue
            pass_mark = config.for_topic(event.topic_id).quiz_low_below
            answer = observation(event, pass_mark)
            if answer is not None:
                out.setdefault(event.topic_id, {}).setdefault(student_id, []).append(answer)
    return out


def held_out(student_id: str) -> bool:
    """One student in :data:`HELD_OUT_ONE_IN`, the same one on every run."""
    return zlib.crc32(student_id.encode()) % HELD_OUT_ONE_IN == 0


def split(
    answers: Mapping[str, Mapping[str, list[bool]]],
) -> tuple[dict[str, list[list[bool]]], dict[str, list[list[bool]]]]:
    """(fitting, held out): per topic the students' answer sequences."""
    fitting: dict[str, list[list[bool]]] = {}
    holding: dict[str, list[list[bool]]] = {}
    for topic, students in answers.items():
        for sid in sorted(students):
            side = holding if held_out(sid) else fitting
            side.setdefault(topic, []).append(students[sid])
    return fitting, holding


@dataclass(frozen=True)
class TopicReport:
    topic_id: str
    answers: int
    students: int
    fitted: bool
    parameters: dict[str, float]
    held_out_fitted: Evaluation | None
    held_out_in_force: Evaluation | None


def report(
    fitted: ParameterSet,
    in_force: ParameterSet,
    fitting: Mapping[str, Sequences],
    holding: Mapping[str, Sequences],
) -> list[TopicReport]:
    """Per topic: how much it was fitted on, its parameters, and the held-out students'
    log-loss and AUC under the fitted parameters and under those in force."""
    out = []
    for topic in sorted(set(fitting) | set(holding)):
        seqs = fitting.get(topic, [])
        held = holding.get(topic, [])
        # log-loss and AUC need answers of both kinds among the held-out students
        answers = {a for s in held for a in s}
        predictable = answers == {True, False}
        out.append(
            TopicReport(
                topic_id=topic,
                answers=sum(len(s) for s in seqs),
                students=len(seqs),
                fitted=topic in fitted.topics,
                parameters=fitted.for_topic(topic).to_dict(),
                held_out_fitted=evaluate(fitted.for_topic(topic), held) if predictable else None,
                held_out_in_force=(
                    evaluate(in_force.for_topic(topic), held) if predictable else None
                ),
            )
        )
    return out


def candidate_rules(active: RuleSetIn | None, fitted: ParameterSet, note: str) -> RuleSetIn:
    """The rule set in force (the settings' thresholds when none was applied) with the
    fitted parameters as its knowledge tracing."""
    base = active or RuleSetIn()
    knowledge = {
        "version": fitted.version,
        "default": fitted.default.to_dict(),
        "topics": {t: p.to_dict() for t, p in sorted(fitted.topics.items())},
    }
    body = base.model_dump(mode="json")
    body["knowledge_tracing"] = knowledge
    body["note"] = note
    return RuleSetIn.model_validate(body)


async def _logged(event_log: EventLog, since: datetime, until: datetime) -> dict[str, list[Any]]:
    counts = await event_log.counts_per_student(None, since, until)
    logged: dict[str, list[Any]] = {}
    for chunk in in_chunks(counts, CHUNK_EVENTS):
        logged.update(await event_log.events_of(chunk, since, until))
    return logged


async def run(settings: Settings, days: float, create: bool) -> dict[str, Any]:
    engine = create_engine(settings)
    pool = await create_write_pool(settings, size=1)
    try:
        rule_sets = RuleSetRepository(engine)
        active = await rule_sets.active()
        config = domain_config(settings)
        if active is not None:
            config = to_config(config, active[1], active[0])
        until = datetime.now(UTC)
        since = until - timedelta(days=days)
        logged = await _logged(
            EventLog(pool, timedelta(days=settings.event_retention_days)), since, until
        )
        answers = answers_by_topic(logged, config)
        fitting, holding = split(answers)
        version = f"fit-{until.strftime('%Y%m%dT%H%M%SZ')}"
        in_force = config.knowledge_tracing
        fitted = fit_topics(fitting, version=version, default=in_force.default)
        # a topic the fit left alone keeps what is in force for it, not the default
        kept = {t: in_force.topics[t] for t in in_force.topics if t not in fitted.topics}
        fitted = ParameterSet(version, fitted.default, {**kept, **fitted.topics})
        topics = report(fitted, in_force, fitting, holding)
        result: dict[str, Any] = {
            "version": version,
            "from": since.isoformat(),
            "to": until.isoformat(),
            "students": len(logged),
            "in_force": in_force.version,
            "topics": [_topic_json(t) for t in topics],
            "created_rule_set": None,
        }
        if create:
            note = f"knowledge tracing fitted by make fit-mastery ({version})"
            created = await rule_sets.create(
                candidate_rules(active and active[1], fitted, note), "fit-mastery"
            )
            result["created_rule_set"] = created["version"]
        return result
    finally:
        await pool.close()
        await engine.dispose()


def _evaluation(e: Evaluation | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"log_loss": round(e.log_loss, 4), "auc": round(e.auc, 3), "predictions": e.predictions}


def _topic_json(t: TopicReport) -> dict[str, Any]:
    return {
        "topic_id": t.topic_id,
        "answers": t.answers,
        "students": t.students,
        "fitted": t.fitted,
        "parameters": {k: round(v, 4) for k, v in t.parameters.items()},
        "held_out": {
            "fitted": _evaluation(t.held_out_fitted),
            "in_force": _evaluation(t.held_out_in_force),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.knowledge_fit", description=__doc__)
    parser.add_argument("--days", type=float, default=None, help="default: the retention")
    parser.add_argument(
        "--create", action="store_true", help="store the fit as a new rule set (not applied)"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    days = args.days if args.days is not None else settings.event_retention_days
    result = asyncio.run(run(settings, days, args.create))
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
