"""Applying events to a student's state: dedupe, streaks, windows."""

from datetime import UTC, date, datetime, timedelta

from actors.config import DomainConfig
from actors.events import LearningEvent, parse_event
from actors.progress_view import mastery_by_topic
from actors.rules import apply_event
from actors.state import StudentState, streak

CONFIG = DomainConfig(dedupe_window=3)
T0 = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)


def submitted(
    event_id: str, exercise: str, at: datetime = T0, passed: bool = True
) -> LearningEvent:
    return parse_event(
        "exercise.submitted",
        {
            "event_id": event_id,
            "student_id": "s1",
            "occurred_at": at.isoformat(),
            "topic_id": "python.loops",
            "exercise_id": exercise,
            "passed": passed,
            "score": 70,
        },
    )


def quiz(event_id: str, score: float, at: datetime) -> LearningEvent:
    return parse_event(
        "exercise.quiz_graded",
        {
            "event_id": event_id,
            "student_id": "s1",
            "occurred_at": at.isoformat(),
            "topic_id": "python.loops",
            "quiz_id": "q",
            "score": score,
        },
    )


def test_duplicate_event_id_changes_nothing() -> None:
    state = StudentState(student_id="s1")
    state, first = apply_event(state, submitted("e1", "ex1"), CONFIG)
    again, second = apply_event(state, submitted("e1", "ex2"), CONFIG)
    assert not first.duplicate and first.changed_topics == ("python.loops",)
    assert second.duplicate and again == state


def test_dedupe_record_is_bounded() -> None:
    state = StudentState(student_id="s1")
    for i in range(10):
        state, _ = apply_event(state, submitted(f"e{i}", f"ex{i}"), CONFIG)
    assert state.recent_event_ids == ["e7", "e8", "e9"]


def test_failed_submission_does_not_count_and_same_exercise_counts_once() -> None:
    state = StudentState(student_id="s1")
    state, _ = apply_event(state, submitted("e1", "ex1", passed=False), CONFIG)
    state, _ = apply_event(state, submitted("e2", "ex1"), CONFIG)
    state, applied = apply_event(state, submitted("e3", "ex1"), CONFIG)
    assert state.topics["python.loops"].passed_exercises == ["ex1"]
    assert applied.changed_topics == ()


def test_streak_across_utc_midnight_and_after_gap() -> None:
    state = StudentState(student_id="s1")
    state, _ = apply_event(state, submitted("a", "x", T0), CONFIG)  # 25th 23:30
    state, _ = apply_event(state, submitted("b", "x", T0 + timedelta(hours=1)), CONFIG)  # 26th
    assert streak(state.active_days) == 2
    state, _ = apply_event(state, submitted("c", "x", T0 + timedelta(days=3)), CONFIG)
    assert streak(state.active_days) == 1


def test_streak_counts_back_from_newest_day() -> None:
    days = [date(2026, 11, d) for d in (1, 2, 3, 5, 6)]
    assert streak(days) == 2


def test_quiz_window_keeps_last_five_by_occurred_at() -> None:
    state = StudentState(student_id="s1")
    for i, score in enumerate([10, 20, 30, 40, 50, 60]):
        state, _ = apply_event(state, quiz(f"q{i}", score, T0 + timedelta(minutes=i)), CONFIG)
    # an older quiz arriving late does not displace newer ones
    state, _ = apply_event(state, quiz("late", 100, T0 - timedelta(days=1)), CONFIG)
    assert [s.value for s in state.topics["python.loops"].quiz_scores] == [20, 30, 40, 50, 60]
    assert mastery_by_topic(state, CONFIG)["python.loops"].components.quiz == 40.0
