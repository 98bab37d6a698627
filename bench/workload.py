"""A realistic mixed event stream: every event type, many students, Zipf-like activity
(a few students very active, most occasional). Pure: deterministic for a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TOPICS = ["python.basics", "python.loops", "python.functions", "python.classes"]
ERRORS = ["NameError", "TypeError", "IndexError", "SyntaxError"]
KAFKA_TOPIC = {"learning": "learning.events", "exercise": "exercise.events", "code": "code.events"}
# event type -> weight in the mix
MIX = {
    "exercise.submitted": 22,
    "code.executed": 22,
    "exercise.quiz_graded": 14,
    "code.reviewed": 12,
    "exercise.started": 10,
    "learning.message": 8,
    "learning.lesson_started": 6,
    "learning.lesson_completed": 6,
}
MESSAGES = [
    "how does range work?",
    "thanks!",
    "I'm stuck on this loop",
    "what is a class?",
    "I don't understand recursion",
    "ok next",
]


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]

    @property
    def kafka_topic(self) -> str:
        return KAFKA_TOPIC[self.type.split(".")[0]]

    @property
    def student_id(self) -> str:
        return str(self.data["student_id"])

    @property
    def event_id(self) -> str:
        return str(self.data["event_id"])

    def cloud_event(self) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": self.event_id,
            "source": "bench",
            "type": self.type,
            "datacontenttype": "application/json",
            "data": self.data,
        }


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (k**s) for k in range(1, n + 1)]


def generate(
    count: int,
    students: int,
    seed: int,
    prefix: str,
    start: datetime | None = None,
    zipf_s: float = 1.1,
) -> list[Event]:
    """``zipf_s`` = 0 gives every student the same activity (the uniform workload)."""
    rnd = random.Random(seed)
    ids = [f"{prefix}-s{i:05d}" for i in range(students)]
    weights = zipf_weights(students, zipf_s)
    types, type_weights = zip(*MIX.items(), strict=True)
    t0 = start or datetime.now(UTC)
    events = []
    for n in range(count):
        student = rnd.choices(ids, weights)[0]
        kind = rnd.choices(types, type_weights)[0]
        data: dict[str, Any] = {
            "event_id": f"{prefix}-e{n:07d}",
            "student_id": student,
            "occurred_at": (t0 + timedelta(milliseconds=n)).isoformat(),
            "topic_id": rnd.choice(TOPICS),
        }
        exercise = f"ex{rnd.randint(1, 8)}"
        if kind == "exercise.submitted":
            passed = rnd.random() < 0.6
            data |= {
                "exercise_id": exercise,
                "passed": passed,
                "score": rnd.randint(60, 100) if passed else rnd.randint(0, 59),
            }
        elif kind == "code.executed":
            ok = rnd.random() < 0.55
            data |= {
                "exercise_id": exercise,
                "success": ok,
                "error_type": None if ok else rnd.choice(ERRORS),
            }
        elif kind == "exercise.quiz_graded":
            data |= {"quiz_id": f"q{rnd.randint(1, 20)}", "score": rnd.randint(10, 100)}
        elif kind == "code.reviewed":
            data |= {"exercise_id": exercise, "quality": rnd.randint(20, 100)}
        elif kind == "exercise.started":
            data["exercise_id"] = exercise
        elif kind == "learning.message":
            data["text"] = rnd.choice(MESSAGES)
            if rnd.random() < 0.5:
                del data["topic_id"]
        else:
            data["lesson_id"] = f"l{rnd.randint(1, 10)}"
        events.append(Event(kind, data))
    return events
