"""Pure parts of the read model: a snapshot carries only the topics that changed, the
newest snapshot per student wins a batch (by version within a life of the state, by
save time across lives), the history day is the newest event's UTC day, why a student
is flagged, page cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from actors.config import DomainConfig
from actors.progress_view import progress_snapshot
from actors.rules import apply_events
from actors.state import StudentState
from service import cursors
from service.readmodel.projection import history_day, latest_per_student, supersedes
from service.readmodel.schemas import ClassStudent, decode_page, encode_page
from service.readmodel.views import FLAG_CODES, Sort, flag_reasons, why_flagged
from service.settings import REPO_DIR
from tests.unit.factories import quiz

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_the_newest_snapshot_of_each_student_wins_whatever_the_order() -> None:
    batch = [
        {"student_id": "a", "version": 3},
        {"student_id": "b", "version": 1},
        {"student_id": "a", "version": 5},
        {"student_id": "a", "version": 4},
    ]
    assert {s: v["version"] for s, v in latest_per_student(batch).items()} == {"a": 5, "b": 1}


def test_a_new_life_of_the_student_wins_the_batch_whatever_its_version() -> None:
    """The rule of the summary upsert (service/readmodel/projection.py), within a batch:
    of another life the later save wins, of the same life the higher version, a tie
    going to the later snapshot; a snapshot without a life is of the held one's life."""
    old = {"student_id": "a", "version": 40, "life": "e-old", "saved_at": "2026-10-01T00:00:00Z"}
    new = {"student_id": "a", "version": 1, "life": "e-new", "saved_at": "2026-11-20T00:00:00Z"}
    assert latest_per_student([old, new])["a"] is new  # the state expired between
    assert latest_per_student([new, old])["a"] is new  # a late snapshot of the old life
    assert supersedes(new, old) and not supersedes(old, new)
    same_version = [  # an event's turn, then a reminder's (same events applied)
        {"student_id": "b", "version": 7, "life": "e-1", "turn": "event"},
        {"student_id": "b", "version": 7, "life": "e-1", "turn": "reminder"},
    ]
    assert latest_per_student(same_version)["b"]["turn"] == "reminder"
    unnamed = {"student_id": "a", "version": 39}  # no life (an older release's state)
    assert not supersedes(unnamed, old) and supersedes({**unnamed, "version": 41}, old)
    assert supersedes(new, {"student_id": "a", "version": 40})  # rows of no known life


def test_a_states_life_is_the_first_event_it_applied() -> None:
    config = DomainConfig()
    first, second = quiz(50, event_id="life-1"), quiz(60, event_id="life-2")
    state, _ = apply_events(StudentState(student_id="s1"), [first, second], config)
    assert state.life == "life-1"
    state, _ = apply_events(state, [quiz(70, event_id="life-3")], config)
    assert state.life == "life-1"
    snapshot, _ = progress_snapshot(state, config)
    assert (snapshot["life"], snapshot["version"], snapshot["saved_at"]) == ("life-1", 3, None)
    state.saved_at = NOW  # the actor records each save (actors/student_actor.py)
    assert progress_snapshot(state, config)[0]["saved_at"] == "2026-11-27T12:00:00Z"
    # a state begun before lives had names keeps none until it expires
    legacy = StudentState(student_id="s1", events_applied=12)
    legacy, _ = apply_events(legacy, [quiz(70, event_id="late")], config)
    assert (legacy.life, legacy.events_applied) == (None, 13)


def test_the_history_day_is_the_utc_day_of_the_newest_event() -> None:
    assert history_day({"last_activity": "2026-11-27T23:30:00-02:00"}) == date(2026, 11, 28)
    assert history_day({"last_activity": None}) == datetime.now(UTC).date()


def row(**kw: Any) -> dict[str, Any]:
    return {"high": 0, "medium": 0, "change_7d": None, "last_activity": NOW, **kw}


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        ({}, []),
        ({"high": 2, "medium": 1}, ["2 open high alerts", "1 open medium alert"]),
        ({"change_7d": -12.5}, ["mastery fell 12.5 points in 7 days"]),
        ({"change_7d": 3.0}, []),
        ({"last_activity": NOW - timedelta(days=4)}, ["no activity for 4 days"]),
        ({"last_activity": NOW - timedelta(days=2)}, []),
        ({"last_activity": None}, ["no activity yet"]),
    ],
)
def test_why_a_student_is_flagged(fields: dict[str, Any], reasons: list[str]) -> None:
    assert why_flagged(row(**fields), NOW) == reasons


@pytest.mark.parametrize(
    ("fields", "coded"),
    [
        ({}, []),
        (
            {"high": 2, "medium": 1},
            [("open_high_alerts", {"count": 2}), ("open_medium_alerts", {"count": 1})],
        ),
        ({"change_7d": -12.5}, [("mastery_fell", {"points": 12.5, "days": 7})]),
        ({"last_activity": NOW - timedelta(days=4, hours=5)}, [("inactive", {"days": 4})]),
        ({"last_activity": None}, [("never_active", {})]),
        (
            {"high": 1, "change_7d": -3.0, "last_activity": None},
            [
                ("open_high_alerts", {"count": 1}),
                ("mastery_fell", {"points": 3.0, "days": 7}),
                ("never_active", {}),
            ],
        ),
    ],
)
def test_each_reason_has_a_code_and_parameters_beside_its_sentence(
    fields: dict[str, Any], coded: list[tuple[str, dict[str, Any]]]
) -> None:
    reasons = flag_reasons(row(**fields), NOW)
    assert [(r.code, r.params) for r in reasons] == coded
    # why_flagged (the sentences clients read before codes) is the same list, same order
    assert [r.text for r in reasons] == why_flagged(row(**fields), NOW)
    assert {r.code for r in reasons} <= set(FLAG_CODES)


def test_the_codes_are_documented_where_clients_read_them() -> None:
    described = ClassStudent.model_json_schema()["$defs"]["FlagReason"]["properties"]["code"]
    api = (REPO_DIR / "docs" / "api.md").read_text()
    for code in FLAG_CODES:
        assert code in described["description"], code
        assert f"`{code}`" in api, code


def test_a_page_cursor_is_bound_to_its_sort() -> None:
    position = (2, 0, -12.5, NOW, "s-7")
    cursor = encode_page("risk", position)
    assert decode_page(cursor, "risk") == position
    with pytest.raises(ValueError, match="this sort"):
        decode_page(cursor, "mastery")
    with pytest.raises(ValueError, match="issued"):
        decode_page("bm9wZQ", "risk")


@pytest.mark.parametrize(
    ("sort", "position"),
    [
        ("risk", (0, 0, None, None, "s-1")),  # never active, no 7-day change
        ("mastery", (None, "s-1")),
        ("mastery", (37.4, "s-1")),
        ("last_active", (NOW, "s-1")),
        ("student_id", ("s-1",)),
    ],
)
def test_a_page_cursor_keeps_the_last_rows_sort_keys(sort: Sort, position: tuple[Any, ...]) -> None:
    assert decode_page(encode_page(sort, position), sort) == position


@pytest.mark.parametrize(
    "values",
    [
        [1, 0, None, None],  # a key short
        ["1", 0, None, None, "s-1"],  # a count as text
        [True, 0, None, None, "s-1"],
        [1, 0, "fell", None, "s-1"],
        [1, 0, None, "2026-12-01T08:00:00", "s-1"],  # a time without a zone
        [1, 0, None, None, None],  # no student id
        50,  # an offset cursor of the previous version
    ],
)
def test_a_forged_position_is_refused(values: Any) -> None:
    with pytest.raises(ValueError, match="not one this API issued"):
        decode_page(cursors.encode(["risk", values]), "risk")


def test_a_snapshot_leaves_out_the_topics_the_read_model_already_has() -> None:
    config = DomainConfig()
    state, _ = apply_events(
        StudentState(student_id="snap-s"),
        [quiz(80, topic="a", student="snap-s"), quiz(60, topic="b", student="snap-s")],
        config,
    )
    first, keys = progress_snapshot(state, config)
    assert [t["topic_id"] for t in first["topics"]] == ["a", "b"] and first["version"] == 2
    later, _ = apply_events(state, [quiz(95, topic="a", student="snap-s")], config)
    second, _ = progress_snapshot(later, config, keys)
    assert [t["topic_id"] for t in second["topics"]] == ["a"] and second["version"] == 3
    assert second["overall_mastery"] > first["overall_mastery"]
    whole, _ = progress_snapshot(later, config)  # nothing written yet: every topic
    assert [t["topic_id"] for t in whole["topics"]] == ["a", "b"]
