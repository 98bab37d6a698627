"""Class-wide misconceptions: the class counts each student once per topic and error
type within the window, and raises one alert per episode at the threshold."""

from __future__ import annotations

from datetime import timedelta

from actors.config import DomainConfig
from actors.effects import AlertCandidate, ErrorSignal, SignalErrors
from actors.misconceptions import ClassState, forget_student, record_signals, threshold
from actors.rules import apply_event
from actors.state import StudentState
from tests.unit.factories import T0, run

CONFIG = DomainConfig()


def signal(
    student: str, hours: float = 0, error: str = "TypeError", topic: str = "t"
) -> ErrorSignal:
    return ErrorSignal(
        student_id=student,
        topic_id=topic,
        error_type=error,
        occurred_at=T0 + timedelta(hours=hours),
        event_id=f"{student}-{hours}-{error}",
    )


def feed(
    signals: list[ErrorSignal], size: int = 10, state: ClassState | None = None
) -> tuple[ClassState, list[AlertCandidate]]:
    state = state or ClassState(class_id="c1")
    raised = []
    for s in signals:
        state, alerts = record_signals(state, [s], size, CONFIG)
        raised += alerts
    return state, raised


def test_the_threshold_is_a_share_of_the_class_but_never_below_three() -> None:
    assert [threshold(n, CONFIG) for n in (1, 5, 10, 11, 20, 40)] == [3, 3, 3, 4, 6, 12]


def test_three_students_of_ten_raise_one_alert_with_its_evidence() -> None:
    _, [alert] = feed([signal("a"), signal("b", 1), signal("c", 2), signal("d", 3)])
    assert alert.kind == "class_misconception" and alert.class_id == "c1"
    assert alert.student_id is None and alert.topic_id == "t"
    assert alert.details == {"error_type": "TypeError", "students": ["a", "b", "c"], "share": 0.3}
    assert alert.evidence is not None
    assert alert.evidence["event_ids"] == ["a-0-TypeError", "b-1-TypeError", "c-2-TypeError"]
    assert alert.evidence["needed"] == 3 and alert.evidence["class_size"] == 10
    assert alert.rule == {
        "kind": "class_misconception",
        "version": 0,
        "thresholds": {
            "misconception_share": 0.3,
            "misconception_min_students": 3,
            "misconception_window_hours": 24.0,
        },
    }


def test_one_student_short_raises_nothing_and_repeats_count_once() -> None:
    # b's signal sent twice (a retried call) and b failing again: still two students
    _, raised = feed([signal("a"), signal("b", 1), signal("b", 1), signal("b", 5)])
    assert raised == []
    # another error type or topic is another misconception
    _, raised = feed([signal("a"), signal("b", 1), signal("c", 2, error="NameError")])
    assert raised == []
    _, raised = feed([signal("a"), signal("b", 1), signal("c", 2, topic="u")])
    assert raised == []


def test_signals_older_than_the_window_no_longer_count() -> None:
    _, raised = feed([signal("a"), signal("b", 1), signal("c", 25.5)])
    assert raised == []  # a left the window before c came
    _, raised = feed([signal("a"), signal("b", 1), signal("c", 23.9)])
    assert len(raised) == 1


def test_one_alert_per_episode_and_a_new_one_after_it_ended() -> None:
    state, first = feed([signal("a"), signal("b", 1), signal("c", 2), signal("d", 3)])
    assert len(first) == 1 and "t|TypeError" in state.episodes
    # the window moves past a, b, c: the episode ends; three new students start another
    state, second = feed([signal("e", 40), signal("f", 41), signal("g", 42)], state=state)
    assert len(second) == 1 and second[0].id != first[0].id
    assert second[0].details["students"] == ["e", "f", "g"]


def test_the_same_signals_from_the_same_state_give_the_same_alert_id() -> None:
    signals = [signal("a"), signal("b", 1), signal("c", 2)]
    assert feed(signals)[1][0].id == feed(signals)[1][0].id
    # in one call, in any order
    _, [at_once] = record_signals(ClassState(class_id="c1"), signals[::-1], 10, CONFIG)
    assert at_once.id == feed(signals)[1][0].id


def test_a_student_signals_an_error_type_at_most_once_per_quarter_window() -> None:
    state = StudentState(student_id="s1")
    sent = []
    for hours in (0, 1, 5, 6, 7):
        event = run(True, "TypeError", at=T0 + timedelta(hours=hours))
        state, outcome = apply_event(state, event, CONFIG)
        sent += [
            s.occurred_at for e in outcome.effects if isinstance(e, SignalErrors) for s in e.signals
        ]
    assert sent == [T0, T0 + timedelta(hours=6)]
    # a success does not reset it (the student did hit the error), another type signals
    state, outcome = apply_event(state, run(False, at=T0 + timedelta(hours=7)), CONFIG)
    state, outcome = apply_event(state, run(True, "KeyError", at=T0 + timedelta(hours=7)), CONFIG)
    assert [type(e) for e in outcome.effects if isinstance(e, SignalErrors)] == [SignalErrors]


def test_an_erased_student_no_longer_counts_towards_a_misconception() -> None:
    """Two of ten hit TypeError, one is erased: a third makes two, not a misconception;
    a fourth makes three."""
    state, raised = feed([signal("a"), signal("b"), signal("b", error="NameError")])
    assert raised == []
    state, removed = forget_student(state, "b")
    assert removed == 2 and all("b" not in seen for seen in state.signals.values())
    assert "t|NameError" not in state.signals  # no one left under it
    state, raised = feed([signal("c", 1)], state=state)
    assert raised == []
    _, raised = feed([signal("d", 2)], state=state)
    assert [a.details["students"] for a in raised] == [["a", "c", "d"]]
    assert forget_student(state, "nobody")[1] == 0
