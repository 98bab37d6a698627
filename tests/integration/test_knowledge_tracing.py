"""Knowledge tracing through the real stack (issue 24): a synthetic learner's answers,
published through daprd and Kafka, move the probability GET /progress shows, and its
level, as BKT says; a spinner's wrong answers raise exactly one wheel_spinning alert (in
the alert table and on struggle.detected), the learner none; the class table shows the
probability per topic, and null where a row of the release before has none."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from actors.knowledge_tracing import DEFAULT_PARAMETERS, knowledge_level, trace
from tests.integration.kafka_io import TopicReader
from tests.integration.support import Student, applied, bearer, eventually, put_class

TOPIC = "python.loops"
# the curriculum's parameters (config/curriculum.toml, version curriculum-1) are the
# defaults; the rule sets other tests apply leave knowledge tracing to the curriculum
PARAMETERS = DEFAULT_PARAMETERS


def loops(progress: dict[str, Any]) -> dict[str, Any]:
    topics: list[dict[str, Any]] = progress["topics"]
    [topic] = [t for t in topics if t["topic_id"] == TOPIC]
    return topic


async def wheel_spinning(api: httpx.AsyncClient, student_id: str) -> list[dict[str, Any]]:
    r = await api.get("/struggles", params={"student_id": student_id, "kind": "wheel_spinning"})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_the_probability_rises_for_a_learner_and_a_spinner_gets_one_alert(
    api: httpx.AsyncClient,
    dapr: httpx.AsyncClient,
    pg: asyncpg.Connection,
    struggles: TopicReader,
) -> None:
    tag = uuid.uuid4().hex[:8]
    learner, spinner = Student(dapr, f"kt-{tag}-l"), Student(dapr, f"kt-{tag}-s")
    class_id, teacher = f"kt-{tag}", f"ktt-{tag}"
    await put_class(api, class_id, [teacher], [learner.id, spinner.id])

    # the learner: a start (no observation), two failed submissions, then right answers
    await learner.send("exercise.started", TOPIC, exercise_id="ex1")
    first = loops(await applied(api, learner.id, 1))
    assert (first["mastery_probability"], first["knowledge_level"]) == (None, None)
    answers = [False, False, True, True, True, True, True]
    expected = [round(p, 3) for p in trace(answers, PARAMETERS)]
    shown: list[tuple[float, str]] = []
    for i, passed in enumerate(answers):
        await learner.send(
            "exercise.submitted", TOPIC, exercise_id=f"ex{i}", passed=passed, score=70
        )
        topic = loops(await applied(api, learner.id, i + 2))
        shown.append((topic["mastery_probability"], topic["knowledge_level"]))
    assert [p for p, _ in shown] == expected
    assert [level for _, level in shown] == [knowledge_level(p) for p in expected]
    rights = [p for p, _ in shown[1:]]  # from the last wrong answer on, each right one lifts it
    assert all(before < after for before, after in zip(rights, rights[1:], strict=False))
    assert shown[0][1] == "Unlikely" and shown[-1][1] == "Mastered"

    # the spinner: twelve failed submissions; the 10th raises the alert, nothing after it
    sent = []
    for i in range(12):
        sent.append(
            await spinner.send(
                "exercise.submitted", TOPIC, exercise_id=f"sx{i}", passed=False, score=10
            )
        )
    spun = loops(await applied(api, spinner.id, 12))
    stuck_at = round(trace([False] * 12, PARAMETERS)[-1], 3)
    assert (spun["mastery_probability"], spun["knowledge_level"]) == (stuck_at, "Unlikely")
    [alert] = await eventually(lambda: wheel_spinning(api, spinner.id))
    assert alert["trigger_event_id"] == sent[9] and alert["topic_id"] == TOPIC
    assert alert["severity"] == "medium" and alert["status"] == "open"
    assert alert["details"]["attempts"] == 10
    assert alert["rule"]["thresholds"] == {
        "wheel_spinning_attempts": 10,
        "wheel_spinning_mastery": 0.95,
    }
    evidence = alert["evidence"]
    assert evidence["event_ids"] == sent[:10] and evidence["attempts"] == 10
    assert evidence["parameters_version"] == "curriculum-1"
    assert [p["probability"] for p in evidence["probability_history"]] == [
        round(p, 3) for p in trace([False] * 10, PARAMETERS)
    ]
    _, message = await struggles.wait_for(
        lambda v: (
            v["data"].get("student_id") == spinner.id and v["data"].get("kind") == "wheel_spinning"
        )
    )
    assert message["data"]["alert_id"] == alert["id"]
    # the alerts of every applied event are in the table once GET /progress counts it
    # (a turn performs its effects before the next call): one, and none for the learner
    rows = await pg.fetch(
        "SELECT student_id FROM struggle_alerts WHERE kind = 'wheel_spinning' "
        "AND student_id = ANY($1::text[])",
        [learner.id, spinner.id],
    )
    assert [r["student_id"] for r in rows] == [spinner.id]

    # the class table: the probability per topic beside the scores
    async def table() -> dict[str, dict[str, Any]] | None:
        r = await api.get(
            f"/classes/{class_id}/students",
            params={"sort": "student_id"},
            headers=bearer("teacher", teacher),
        )
        assert r.status_code == 200, r.text
        rows = {row["student_id"]: row for row in r.json()["items"]}
        done = rows[learner.id]["mastery_probability"].get(TOPIC) == expected[-1]
        return rows if done and rows[spinner.id]["mastery_probability"].get(TOPIC) else None

    rows_now = await eventually(table)
    assert rows_now[learner.id]["mastery_probability"] == {TOPIC: expected[-1]}
    assert rows_now[spinner.id]["mastery_probability"] == {TOPIC: stuck_at}
    assert set(rows_now[learner.id]["topics"]) == {TOPIC}
    # a row as the release before writes it (no probability) reads as null
    await pg.execute(
        "UPDATE student_progress SET mastery_probability = NULL WHERE student_id = $1",
        spinner.id,
    )
    r = await api.get(
        f"/classes/{class_id}/students",
        params={"sort": "student_id"},
        headers=bearer("teacher", teacher),
    )
    assert r.status_code == 200, r.text
    [row] = [row for row in r.json()["items"] if row["student_id"] == spinner.id]
    assert row["mastery_probability"] == {TOPIC: None} and row["topics"][TOPIC] >= 0
