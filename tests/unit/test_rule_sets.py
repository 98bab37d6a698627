"""Rule sets as data: thresholds per topic, and the dry run's replay and difference."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from actors.config import DomainConfig
from actors.effects import RaiseAlert
from actors.events import LearningEvent, parse_event
from actors.replay import replay_student
from actors.rules import WAKE_REMINDER, apply_event, fire_reminder
from actors.state import StudentState
from bench.workload import generate
from service.rulesets.dry_run import (
    LISTED,
    DryRunTally,
    compare_replays,
    in_chunks,
    replay_chunk,
)
from service.rulesets.model import RuleSetIn, to_config
from tests.unit.factories import T0, quiz, run, started

BASE = DomainConfig()


def logged(events: list[LearningEvent]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        data = e.model_dump(mode="json", exclude_none=True)
        out.setdefault(e.student_id, []).append({"type": e.type, "data": data})
    return out


def at(minutes: float) -> Any:
    return T0 + timedelta(minutes=minutes)


def test_a_rule_set_overrides_the_settings_and_per_topic() -> None:
    rules = RuleSetIn.model_validate(
        {
            "thresholds": {"repeated_error_count": 4, "stuck_minutes": 30},
            "topics": {"python.loops": {"repeated_error_count": 2}, "python.io": {}},
        }
    )
    config = to_config(BASE, rules, 7)
    assert config.rules_version == 7 and config.repeated_error_count == 4
    assert config.stuck_after == timedelta(minutes=30)
    assert config.for_topic("python.loops").repeated_error_count == 2
    assert config.for_topic("python.loops").stuck_after == timedelta(minutes=30)
    assert config.for_topic("python.io") is config  # nothing differs there
    assert config.for_topic(None) is config
    assert BASE.repeated_error_count == 3  # the base is not changed


def test_a_replay_fires_the_time_based_rules_as_its_clock_passes_them() -> None:
    events = [started("ex1", at=at(0)), quiz(80, at=at(25))]
    kinds = [a.kind for a in replay_student("s1", events, BASE, at(30))]
    assert kinds == ["stuck"]
    # until before the deadline and no later event: not yet
    assert replay_student("s1", events[:1], BASE, at(5)) == []


def test_the_dry_run_reports_what_a_changed_threshold_adds_and_removes() -> None:
    stream = [run(True, "NameError", at=at(i)) for i in range(4)] + [quiz(45, at=at(5))]
    stricter = to_config(
        BASE,
        RuleSetIn.model_validate({"thresholds": {"repeated_error_count": 5, "quiz_low_below": 40}}),
        2,
    )
    report = compare_replays(logged(stream), BASE, stricter, at(10))
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert report["events"] == 5 and report["students"] == 1
    assert kinds["repeated_error"] == {
        "kind": "repeated_error",
        "raised_now": 1,
        "raised_by_candidate": 0,
        "added": 0,
        "removed": 1,
    }
    assert kinds["low_quiz"]["removed"] == 1 and kinds["low_quiz"]["raised_by_candidate"] == 0
    assert {a["trigger_event_id"] for a in report["removed"]} == {
        stream[2].event_id,  # the third NameError
        stream[4].event_id,  # the quiz of 45
    }
    assert report["added"] == []
    # earlier: the alert moves to the second failure (one added, one removed)
    earlier = to_config(
        BASE, RuleSetIn.model_validate({"topics": {"python.loops": {"repeated_error_count": 2}}}), 3
    )
    report = compare_replays(logged(stream), BASE, earlier, at(10))
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert (kinds["repeated_error"]["added"], kinds["repeated_error"]["removed"]) == (1, 1)
    assert report["added"][0]["trigger_event_id"] == stream[1].event_id
    assert report["added"][0]["thresholds"] == {"repeated_error_count": 2}
    # the same rules: no difference
    same = compare_replays(logged(stream), BASE, BASE, at(10))
    assert all(k["added"] == k["removed"] == 0 for k in same["kinds"])


def test_the_replay_raises_what_the_actor_path_raises() -> None:
    """The replay skips mastery and copies; its alerts are the actor path's, event by
    event with the reminders fired in between (a workload of the benchmark's mix)."""
    until = T0 + timedelta(days=5)
    by_student: dict[str, list[LearningEvent]] = {}
    for e in generate(3000, 40, seed=3, prefix="rp", start=T0):
        by_student.setdefault(e.student_id, []).append(parse_event(e.type, e.data))
    for sid, events in by_student.items():
        state, expected = StudentState(student_id=sid), []
        for event in [*events, None]:
            now = until if event is None else event.occurred_at
            while state.wake_due is not None and state.wake_due <= now:
                state, effects = fire_reminder(state, WAKE_REMINDER, {}, state.wake_due, BASE)
                expected += [e.alert for e in effects if isinstance(e, RaiseAlert)]
            if event is not None:
                state, outcome = apply_event(state, event, BASE)
                expected += outcome.alerts
        assert replay_student(sid, events, BASE, until) == expected


def test_the_dry_run_replays_class_misconceptions_too() -> None:
    """Three students of a class of ten hit TypeError: a misconception now; a candidate
    asking for four students no longer raises it."""
    stream = [run(True, "TypeError", student=f"m{i}", at=at(i)) for i in range(3)]
    classes = {f"m{i}": {"c1": 10} for i in range(3)}
    fewer = to_config(
        BASE, RuleSetIn.model_validate({"thresholds": {"misconception_min_students": 4}}), 4
    )
    report = compare_replays(logged(stream), BASE, fewer, at(10), classes)
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert kinds["class_misconception"] == {
        "kind": "class_misconception",
        "raised_now": 1,
        "raised_by_candidate": 0,
        "added": 0,
        "removed": 1,
    }
    [removed] = [a for a in report["removed"] if a["kind"] == "class_misconception"]
    assert removed["class_id"] == "c1" and removed["student_id"] is None
    # students in no class raise none
    assert {k["kind"]: k for k in compare_replays(logged(stream), BASE, fewer, at(10))["kinds"]}[
        "class_misconception"
    ]["raised_now"] == 0


def test_a_dry_run_in_chunks_reports_what_one_chunk_does() -> None:
    """A background dry run replays students a chunk at a time: however they are cut,
    the report is the one the whole stream gives at once (the listed alerts may come in
    another order)."""
    stream = [
        parse_event(e.type, e.data) for e in generate(4000, 60, seed=11, prefix="ck", start=T0)
    ]
    everyone = logged(stream)
    classes = {sid: {f"c{n % 3}": 20} for n, sid in enumerate(sorted(everyone))}
    candidate = to_config(
        BASE,
        RuleSetIn.model_validate(
            {
                "thresholds": {"repeated_error_count": 2, "quiz_low_below": 70},
                "topics": {"python.loops": {"misconception_min_students": 2}},
            }
        ),
        2,
    )
    until = stream[-1].occurred_at + timedelta(hours=1)
    whole = compare_replays(everyone, BASE, candidate, until, classes)
    assert any(k["added"] or k["removed"] for k in whole["kinds"])  # a difference to keep
    students = sorted(everyone)
    for size in (1, 7, 25):
        tally = DryRunTally()
        for i in range(0, len(students), size):
            part = {sid: everyone[sid] for sid in students[i : i + size]}
            if size == 25:  # as the background dry run reads them: data as JSON text
                part = {
                    sid: [{**e, "data": json.dumps(e["data"])} for e in mine]
                    for sid, mine in part.items()
                }
            tally.add(replay_chunk(part, BASE, candidate, until))
        chunked = tally.report(classes, BASE, candidate)
        assert {k: v for k, v in chunked.items() if k not in ("added", "removed")} == {
            k: v for k, v in whole.items() if k not in ("added", "removed")
        }
        for side in ("added", "removed"):
            assert len(chunked[side]) == len(whole[side])
            if sum(k[side] for k in whole["kinds"]) <= LISTED:  # all listed: the same ones
                key = lambda a: sorted(a.items(), key=str)  # noqa: E731
                assert sorted(map(key, chunked[side])) == sorted(map(key, whole[side]))


def test_students_are_cut_into_chunks_of_bounded_events() -> None:
    counts = {"a": 3, "b": 4, "c": 9, "d": 12, "e": 1}
    assert in_chunks(counts, 10) == [["a", "b"], ["c"], ["d"], ["e"]]
    assert in_chunks(counts, 100) == [["a", "b", "c", "d", "e"]]
    assert in_chunks({}, 10) == []
