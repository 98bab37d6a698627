"""The body of a StudentProgressActor ``ApplyEventBatch`` call: one student's events of
one delivery batch, written by the intake (service/actorhost/intake.py) and read by the actor
(decision 019).

    {"events": [{"type": "...", "data": {...}}, ...], "trace_ids": ["...", ...]}

Encoded once: each event's ``data`` is the JSON text the intake made of it once (it
measures the event with it, and the event log stores it), spliced into the body as it
is. daprd hands the body to the actor unchanged, and the actor host passes it to the
method as bytes (service/dapr/actor_host.py), so it is decoded once, by the C JSON
decoder; before, the body was that JSON again as one JSON string, which the SDK decoded
with its pure-Python scanner before the actor decoded the string.

The actor builds each event with ``parse_event``: the models' compiled validator is the
cheapest way to build them (cheaper than pydantic's ``model_construct``, which skips
validation), so a body that did not come from an intake of this release (a call by
hand, an intake of another release) is checked as fully as one that did, at no cost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from actors.events import EVENT_TYPES, LearningEvent, PoisonEvent, parse_event

# the start of each event in the body, by type (types are plain ASCII: no escaping)
_EVENT_START = {t: '{"type":' + json.dumps(t) + ',"data":' for t in EVENT_TYPES}


def encode_batch(events: Sequence[tuple[str, str]], trace_ids: Sequence[str]) -> bytes:
    """The body for ``events``, each ``(type, data as JSON text of an object)`` of an
    event ``parse_event`` accepted, in order."""
    inner = ",".join(_EVENT_START[t] + data + "}" for t, data in events)
    traces = json.dumps(list(trace_ids), separators=(",", ":")) if trace_ids else "[]"
    return f'{{"events":[{inner}],"trace_ids":{traces}}}'.encode()


def decode_batch(body: str | bytes, student_id: str) -> tuple[list[LearningEvent], list[str]]:
    """The events of a body (this module's, or the previous release's ``ApplyEvents``
    text: the same document) and its trace ids. Raises PoisonEvent when the body is not
    such a document, an event is invalid, or one is another student's."""
    try:
        batch: Any = json.loads(body)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise PoisonEvent(f"the batch is not JSON: {exc}") from exc
    envelopes = batch.get("events") if isinstance(batch, dict) else None
    if not isinstance(envelopes, list):
        raise PoisonEvent("the batch has no list of events")
    events: list[LearningEvent] = []
    for envelope in envelopes:
        if not isinstance(envelope, dict):
            raise PoisonEvent("an event of the batch is not an object")
        event = parse_event(envelope.get("type"), envelope.get("data"))
        if event.student_id != student_id:
            raise PoisonEvent(f"event {event.event_id} is for student {event.student_id}")
        events.append(event)
    traces = batch.get("trace_ids")
    return events, [str(t) for t in traces] if isinstance(traces, list) else []
