"""Property-based tests: any event stream keeps scores in range, replaying a stream
(redelivery) never changes the state a second time, and applying it in batches is the
same as applying it one event at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.config import DomainConfig
from actors.effects import CancelReminder, PublishProgress, RaiseAlert, SetReminder
from actors.events import LearningEvent, parse_event
from actors.progress_view import mastery_by_topic, overall
from actors.rules import apply_event, apply_events, collapse_turn_effects
from actors.state import StudentState
from tests.unit.factories import T0

CONFIG = DomainConfig(dedupe_window=10_000)
topics = st.sampled_from(["python.loops", "python.functions", "python.classes"])
scores = st.floats(min_value=0, max_value=100, allow_nan=False)


@st.composite
def events(draw: st.DrawFn, index: int) -> LearningEvent:
    kind = draw(
        st.sampled_from(
            [
                "exercise.started",
                "exercise.submitted",
                "exercise.quiz_graded",
                "code.executed",
                "code.reviewed",
                "learning.message",
                "learning.lesson_started",
            ]
        )
    )
    minutes = draw(st.integers(min_value=0, max_value=60 * 24 * 10))
    data: dict[str, Any] = {
        "event_id": f"e{index}",
        "student_id": "s1",
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "topic_id": draw(topics),
    }
    exercise = draw(st.sampled_from(["x1", "x2", "x3", "x4", "x5", "x6", "x7"]))
    if kind == "exercise.started":
        data["exercise_id"] = exercise
    elif kind == "exercise.submitted":
        data |= {"exercise_id": exercise, "passed": draw(st.booleans()), "score": draw(scores)}
    elif kind == "exercise.quiz_graded":
        data |= {"quiz_id": "q", "score": draw(scores)}
    elif kind == "code.executed":
        ok = draw(st.booleans())
        data |= {
            "success": ok,
            "error_type": None if ok else draw(st.sampled_from(["NameError", "TypeError"])),
        }
    elif kind == "code.reviewed":
        data["quality"] = draw(scores)
    elif kind == "learning.message":
        data["text"] = draw(st.sampled_from(["hi", "I'm stuck", "I give up now"]))
    else:
        data["lesson_id"] = "l1"
    return parse_event(kind, data)


@st.composite
def streams(draw: st.DrawFn) -> list[LearningEvent]:
    n = draw(st.integers(min_value=1, max_value=40))
    return [draw(events(i)) for i in range(n)]


def replay(stream: list[LearningEvent], state: StudentState | None = None) -> StudentState:
    state = state or StudentState(student_id="s1")
    for e in stream:
        state, _ = apply_event(state, e, CONFIG)
    return state


@settings(max_examples=200, deadline=None)
@given(streams())
def test_scores_stay_between_0_and_100(stream: list[LearningEvent]) -> None:
    state = replay(stream)
    for m in mastery_by_topic(state, CONFIG).values():
        assert 0 <= m.score <= 100
        for value in vars(m.components).values():
            assert 0 <= value <= 100
    assert 0 <= overall(state, CONFIG) <= 100


@settings(max_examples=200, deadline=None)
@given(streams())
def test_replaying_a_stream_changes_nothing(stream: list[LearningEvent]) -> None:
    once = replay(stream)
    twice = replay(stream, once)
    assert twice == once


ORDER_FREE = {
    "exercise.submitted",
    "exercise.quiz_graded",
    "code.reviewed",
    "learning.lesson_started",
}


@settings(max_examples=200, deadline=None)
@given(streams(), st.randoms(use_true_random=False))
def test_out_of_order_delivery_gives_same_mastery(stream: list[LearningEvent], rnd: Any) -> None:
    """Windows follow occurred_at and the exercise set is a set: for these event types
    the delivery order does not matter."""
    kept = [e for e in stream if e.type in ORDER_FREE]
    shuffled = list(kept)
    rnd.shuffle(shuffled)
    assert mastery_by_topic(replay(kept), CONFIG) == mastery_by_topic(replay(shuffled), CONFIG)


def _reminders_after(effects: Any) -> dict[str, Any]:
    """Where a sequence of reminder changes leaves each reminder (None = cancelled)."""
    final: dict[str, Any] = {}
    for e in effects:
        if isinstance(e, SetReminder):
            final[e.name] = (e.due_at, e.data)
        elif isinstance(e, CancelReminder):
            final[e.name] = None
    return final


def _first_alerts(effects: Any) -> dict[tuple[str, str | None], str]:
    """The alert each (kind, topic) would put in the table (the first one raised)."""
    first: dict[tuple[str, str | None], str] = {}
    for e in effects:
        if isinstance(e, RaiseAlert):
            first.setdefault((e.alert.kind, e.alert.topic_id), e.alert.id)
    return first


@settings(max_examples=200, deadline=None)
@given(streams(), st.lists(st.integers(min_value=1, max_value=15), min_size=1, max_size=8))
def test_batches_equal_one_event_at_a_time(stream: list[LearningEvent], cuts: list[int]) -> None:
    """Any cut of a stream (redeliveries and in-batch duplicates included) into turns
    gives the state, outcomes and effects of applying it one event at a time; reducing a
    turn's effects leaves every reminder in the same place, keeps every progress update
    and the alert the table would take for each (kind, topic)."""
    stream = stream + stream[: len(stream) // 3]  # some events delivered twice
    one_by_one = StudentState(student_id="s1")
    expected_effects: list[Any] = []
    expected_outcomes = []
    for e in stream:
        one_by_one, outcome = apply_event(one_by_one, e, CONFIG)
        expected_outcomes.append(outcome.duplicate)
        expected_effects.extend(outcome.effects)

    batched = StudentState(student_id="s1")
    got_effects: list[Any] = []
    got_outcomes: list[Any] = []
    start, i = 0, 0
    while start < len(stream):
        size = cuts[i % len(cuts)]
        batched, turn = apply_events(
            batched, stream[start : start + size], CONFIG, in_place=i % 2 == 1
        )
        got_outcomes.extend(o.duplicate for o in turn.outcomes)
        got_effects.extend(turn.effects)
        collapsed = collapse_turn_effects(turn.effects)
        assert _reminders_after(collapsed) == _reminders_after(turn.effects)
        assert [e for e in collapsed if isinstance(e, PublishProgress)] == [
            e for e in turn.effects if isinstance(e, PublishProgress)
        ]
        assert _first_alerts(collapsed) == _first_alerts(turn.effects)
        start, i = start + size, i + 1
    assert batched == one_by_one
    assert got_outcomes == expected_outcomes
    assert got_effects == expected_effects


def test_the_dedupe_window_holds_inside_a_batch() -> None:
    """An id pushed out of the window by later events of the same batch counts as new
    again, exactly as it would one event at a time."""
    config = DomainConfig(dedupe_window=16)
    stream = [parse_event("learning.lesson_started", _lesson(i)) for i in range(20)]
    again = parse_event("learning.lesson_started", _lesson(0))
    state, turn = apply_events(StudentState(student_id="s1"), [*stream, again], config)
    assert [o.duplicate for o in turn.outcomes][-1] is False
    assert len(state.recent_event_ids) == 16
    _, turn = apply_events(state, [again], config)
    assert turn.outcomes[0].duplicate


def _lesson(i: int) -> dict[str, Any]:
    return {
        "event_id": f"l{i}",
        "student_id": "s1",
        "occurred_at": (T0 + timedelta(minutes=i)).isoformat(),
        "topic_id": "python.loops",
        "lesson_id": "l",
    }
