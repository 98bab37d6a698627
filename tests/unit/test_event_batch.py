"""The ApplyEventBatch body between the intake and the student's actor (decision 019):
written once by the intake, handed to the method undecoded by the SDK's actor runtime,
read once by the actor; the previous release's form still read; and the intake's
fallback to ApplyEvents when the actor's host is of the previous release."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.clients.base import DaprActorClientBase
from dapr.clients.exceptions import DaprHttpError
from dapr.serializers import DefaultJSONSerializer

from actors.config import DomainConfig
from actors.event_batch import decode_batch, encode_batch
from actors.events import PoisonEvent, to_envelope
from actors.student_actor import ActorDeps, StudentProgressActor, actor_factory
from service.dapr.actor_gateway import ActorCallFailed, ActorGateway
from service.dapr.actor_host import BodyAsBytes
from tests.unit.factories import T0, batch_body, message, quiz, run, started

EVENTS = [
    quiz(70, student="s1", event_id="q1"),
    run(True, student="s1", event_id="r1", error_message='é "x" \\ \n'),
    message("help", student="s1", event_id="m1"),
    started("ex1", student="s1", event_id="x1", at=T0 + timedelta(minutes=1)),
]


def test_the_body_is_the_document_encoded_once_and_reads_back_the_same_events() -> None:
    traces = ["0af7651916cd43dd8448eb211c80319c", 'odd"trace']
    body = batch_body(*EVENTS, trace_ids=tuple(traces))
    document = {"events": [to_envelope(e) for e in EVENTS], "trace_ids": traces}
    assert body == json.dumps(document, separators=(",", ":")).encode()
    assert decode_batch(body, "s1") == (EVENTS, traces)


def test_the_previous_releases_text_reads_back_the_same_events() -> None:
    legacy = json.dumps({"events": [to_envelope(e) for e in EVENTS]})
    assert decode_batch(legacy, "s1") == (EVENTS, [])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff", "not JSON"),
        (b'["events"]', "no list of events"),
        (b'{"events": {}}', "no list of events"),
        (b'{"events": [1]}', "not an object"),
        (encode_batch([("exercise.quiz_graded", '{"event_id":"q"}')], []), "invalid"),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(PoisonEvent) as info:
        decode_batch(body, "s1")
    assert reason in info.value.reason


def test_another_students_event_is_refused() -> None:
    with pytest.raises(PoisonEvent, match="is for student s1"):
        decode_batch(batch_body(*EVENTS), "s2")


def test_the_actor_host_hands_a_bytes_argument_over_undecoded() -> None:
    serializer = BodyAsBytes()
    body = b'{"events":[],"at":"2026-11-25T10:00:00Z"}'
    assert serializer.deserialize(body, bytes) is body
    # anything else as the SDK decodes it (date-like strings become datetimes)
    assert serializer.deserialize(body, object) == DefaultJSONSerializer().deserialize(body)
    assert serializer.deserialize(b'"text"', str) == "text"


class Store(DaprActorClientBase):
    """daprd's actor API as the SDK's actor runtime uses it, in memory."""

    def __init__(self) -> None:
        self.state: dict[str, bytes] = {}

    async def invoke_method(
        self, actor_type: str, actor_id: str, method: str, data: bytes | None = None
    ) -> bytes:
        raise AssertionError("no calls out of the actor here")

    async def save_state_transactionally(self, actor_type: str, actor_id: str, data: bytes) -> None:
        for op in json.loads(data):
            self.state[op["request"]["key"]] = json.dumps(op["request"]["value"]).encode()

    async def get_state(self, actor_type: str, actor_id: str, name: str) -> bytes:
        return self.state.get(name, b"")

    async def register_reminder(
        self, actor_type: str, actor_id: str, name: str, data: bytes
    ) -> None:
        pass  # the wake-up reminder: not what this test is about

    async def unregister_reminder(self, actor_type: str, actor_id: str, name: str) -> None:
        pass

    async def register_timer(self, actor_type: str, actor_id: str, name: str, data: bytes) -> None:
        pass

    async def unregister_timer(self, actor_type: str, actor_id: str, name: str) -> None:
        pass


class Outbound:
    def __init__(self) -> None:
        self.progress: list[str] = []

    async def raise_alerts(self, alerts: list[Any]) -> None:
        pass

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        self.progress += [p["trigger_event_id"] for p in payloads]

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None:
        pass

    async def signal_errors(self, signals: list[Any]) -> None:
        pass


async def test_both_methods_through_the_sdks_actor_runtime() -> None:
    """The path daprd's call takes in the app (service/dapr/callbacks.py dispatches it):
    the runtime's serializer gives ApplyEventBatch the body as bytes, ApplyEvents the
    previous release's string; both apply."""
    outbound, store = Outbound(), Store()
    await ActorRuntime.register_actor(
        StudentProgressActor,
        message_serializer=BodyAsBytes(),
        actor_client=store,
        actor_factory=actor_factory(ActorDeps(config=DomainConfig(), outbound=outbound)),
    )
    answer = await ActorRuntime.dispatch(
        "StudentProgressActor", "s1", "ApplyEventBatch", batch_body(*EVENTS[:2])
    )
    assert json.loads(answer) == {"outcomes": ["applied", "applied"]}
    legacy = json.dumps(json.dumps({"events": [to_envelope(e) for e in EVENTS[1:]]}))
    answer = await ActorRuntime.dispatch(
        "StudentProgressActor", "s1", "ApplyEvents", legacy.encode()
    )
    assert json.loads(answer) == {"outcomes": ["duplicate", "applied", "applied"]}
    assert json.loads(json.loads(store.state["student"]))["events_applied"] == 4
    assert outbound.progress == ["q1"]  # the quiz changed a score


class Calls:
    """The gateway's client: an actor host of the previous release (no ApplyEventBatch),
    or one that fails otherwise."""

    def __init__(self, previous_release: bool, failure: bytes | None = None) -> None:
        self.previous_release = previous_release
        self.failure = failure
        self.calls: list[tuple[str, bytes | None]] = []

    async def invoke_method(
        self, actor_type: str, actor_id: str, method: str, data: bytes | None = None
    ) -> bytes:
        self.calls.append((method, data))
        if self.failure is not None:
            raise DaprHttpError(DefaultJSONSerializer(), self.failure, 500)
        if method == "ApplyEventBatch" and self.previous_release:
            # what the previous release's host answers, as daprd hands it back
            # (tests/integration/test_student_actor.py checks this shape on the stack)
            answer = {
                "message": "ActorMethodNotFoundError('type object ActorMethodDispatcher "
                "has no method ApplyEventBatch')",
                "errorCode": "UNKNOWN",
            }
            raise DaprHttpError(DefaultJSONSerializer(), json.dumps(answer).encode(), 500)
        return b'{"outcomes":["applied"]}'


async def test_an_actor_of_the_previous_release_gets_the_same_document_as_apply_events() -> None:
    body = batch_body(EVENTS[0])
    for previous in (False, True):
        calls = Calls(previous)
        answer = await ActorGateway(calls).apply_event_batch("s1", body)  # type: ignore[arg-type]
        assert answer == {"outcomes": ["applied"]}
        if previous:
            assert calls.calls == [
                ("ApplyEventBatch", body),
                ("ApplyEvents", json.dumps(body.decode()).encode()),
            ]
        else:
            assert calls.calls == [("ApplyEventBatch", body)]


async def test_another_failure_is_not_retried_as_apply_events() -> None:
    calls = Calls(False, failure=b'{"message": "state store down", "errorCode": "UNKNOWN"}')
    with pytest.raises(ActorCallFailed):
        await ActorGateway(calls).apply_event_batch("s1", batch_body(EVENTS[0]))  # type: ignore[arg-type]
    assert [method for method, _ in calls.calls] == ["ApplyEventBatch"]
