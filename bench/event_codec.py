"""CPU of an event's way from the bulk delivery to the actor's models, before and after
issue 23's "validated once, encoded once" (decision 019): no stack, one process.

``python -m bench.event_codec [EVENTS] [ROUNDS]``: the workload's events (bench/
workload.py) as daprd delivers them, one turn per call with 1 event (part load) and
with 10 events (a backlog), through

- ``before``: the path as it was at commit 991cca4 (kept here to compare): the intake
  encodes each event's data to measure it, validates it, encodes the call's document,
  then that text again as one JSON string; the SDK's decoder (pure Python) reads the
  string back; the actor decodes the document and validates each event again; the event
  log encodes each event's data again;
- ``after``: the code as it is (service/actorhost/intake.py ``decode_entry``, actors/event_batch.py,
  service/dapr/actor_host.py ``BodyAsBytes``): one encode per event, spliced into the
  body; the body handed over undecoded and decoded once; the log stores the same text;
- ``after, models built unvalidated``: as ``after``, the actor building each model with
  pydantic's ``model_construct`` (no validation) instead of its validator: what skipping
  the actor's validation would cost.

Variants alternate within each round; CPU time of this process per event (µs); the
median of each round's repeats, every round printed (the machine is shared).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args

from dapr.serializers import DefaultJSONSerializer

from actors.event_batch import decode_batch, encode_batch
from actors.events import LearningEvent, PoisonEvent, parse_event
from bench.workload import generate
from service.actorhost.intake import decode_entry
from service.dapr.actor_host import BodyAsBytes

MAX_BYTES = 65536
SDK = DefaultJSONSerializer()
HOST = BodyAsBytes()
_MODEL_OF: dict[str, Any] = {  # each event type's model
    get_args(m.model_fields["type"].annotation)[0]: m for m in get_args(get_args(LearningEvent)[0])
}


def _calls(events: int, per_call: int) -> list[list[dict[str, Any]]]:
    """Bulk entries' CloudEvents as the intake receives them (parsed from daprd's JSON),
    ``per_call`` of one student per call."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    students = max(1, events // per_call)  # uniform: about per_call events each
    stream = generate(events, students, seed=23, prefix="c", start=start, zipf_s=0)
    by_student: dict[str, list[dict[str, Any]]] = {}
    for e in stream:
        by_student.setdefault(e.student_id, []).append(e.cloud_event())
    calls = [
        cloud[i : i + per_call]
        for cloud in by_student.values()
        for i in range(0, len(cloud), per_call)
    ]
    parsed: list[list[dict[str, Any]]] = json.loads(json.dumps(calls))
    return parsed


def before(call: list[dict[str, Any]]) -> list[LearningEvent]:
    """Commit 991cca4's steps, in order (intake, gateway, SDK, actor, event log)."""
    envelopes = []
    for cloud in call:
        data = cloud["data"]
        size = len(json.dumps(data, separators=(",", ":")))
        assert size <= MAX_BYTES
        event = parse_event(cloud["type"], data)
        envelopes.append({"type": event.type, "data": data})
    batch_json = json.dumps({"events": envelopes, "trace_ids": []}, separators=(",", ":"))
    body = json.dumps(batch_json).encode()  # the gateway
    text = SDK.deserialize(body, str)  # the actor runtime
    student = envelopes[0]["data"]["student_id"]
    events = []
    for envelope in json.loads(text)["events"]:  # the actor
        event = parse_event(envelope.get("type"), envelope.get("data"))
        if event.student_id != student:
            raise PoisonEvent("another student's")
        events.append(event)
    for envelope in envelopes:  # the event log's rows
        json.dumps(envelope["data"], separators=(",", ":"))
    return events


def after(call: list[dict[str, Any]]) -> list[LearningEvent]:
    accepted = [decode_entry(str(i), cloud, MAX_BYTES) for i, cloud in enumerate(call)]
    body = encode_batch([(e.type, e.data_json) for e in accepted], [])
    events, _ = decode_batch(HOST.deserialize(body, bytes), accepted[0].student_id)
    return events  # the event log's rows take e.data_json as it is


def after_unvalidated(call: list[dict[str, Any]]) -> list[LearningEvent]:
    accepted = [decode_entry(str(i), cloud, MAX_BYTES) for i, cloud in enumerate(call)]
    body = encode_batch([(e.type, e.data_json) for e in accepted], [])
    batch = json.loads(HOST.deserialize(body, bytes))
    events = []
    for envelope in batch["events"]:
        model = _MODEL_OF[envelope["type"]]
        data = envelope["data"]
        values = {**data, "occurred_at": datetime.fromisoformat(data["occurred_at"])}
        events.append(model.model_construct(type=envelope["type"], **values))
    return events


VARIANTS: dict[str, Callable[[list[dict[str, Any]]], list[LearningEvent]]] = {
    "before": before,
    "after": after,
    "after, models built unvalidated": after_unvalidated,
}


def _cpu_us_per_event(variant: Callable[..., Any], calls: list[list[dict[str, Any]]]) -> float:
    n = sum(len(c) for c in calls)
    start = time.process_time()
    for call in calls:
        variant(call)
    return (time.process_time() - start) / n * 1e6


def main(events: int = 20_000, rounds: int = 3, repeats: int = 5) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for per_call in (1, 10):
        calls = _calls(events, per_call)
        assert before(calls[0]) == after(calls[0]) == after_unvalidated(calls[0])
        figures: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(rounds):
            samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _ in range(repeats):  # alternating
                for name, variant in VARIANTS.items():
                    samples[name].append(_cpu_us_per_event(variant, calls))
            for name in VARIANTS:
                figures[name].append(round(statistics.median(samples[name]), 2))
        report[f"{per_call} event(s) per call"] = figures
        base = statistics.median(figures["before"])
        lines = [f"{per_call} event(s) per call, CPU µs per event, one figure per round:"]
        for name, values in figures.items():
            ratio = statistics.median(values) / base
            lines.append(f"  {name:34s} {values}  median ratio to before {ratio:.2f}")
        sys.stdout.write("\n".join(lines) + "\n")
    return report


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
