"""The floor app's intake and settings: one actor call per entry, a student's entries in
order, RETRY from a failed call on, DROP for what is not the driver's; the HTTP bulk
answer; the app token on daprd's calls; the variants' settings."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bench.floor.app import FloorCallbacks, Runtime, handle_bulk
from bench.floor.intake import DROP, RETRY, SUCCESS, Entry, Intake, by_student, decode
from bench.floor.settings import BATCH_ROUTE, FloorSettings, FloorSettingsError


class FakeCalls:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = fail or set()
        self.in_flight: dict[str, int] = {}
        self.overlapped = False

    async def apply(self, student_id: str, event_id: str) -> None:
        self.in_flight[student_id] = self.in_flight.get(student_id, 0) + 1
        self.overlapped |= self.in_flight[student_id] > 1
        await asyncio.sleep(0)
        self.in_flight[student_id] -= 1
        self.calls.append((student_id, event_id))
        if event_id in self.fail:
            raise RuntimeError("daprd said no")

    async def aclose(self) -> None:
        return None


def entry(n: int, student: str) -> Entry:
    return Entry(f"id{n}", student, f"e{n}")


def test_decode_takes_dicts_json_bytes_and_text() -> None:
    want = Entry("1", "s", "e")
    assert decode("1", {"student_id": "s", "event_id": "e"}) == want
    assert decode("1", b'{"student_id": "s", "event_id": "e"}') == want
    assert decode("1", '{"student_id": "s", "event_id": "e"}') == want


@pytest.mark.parametrize(
    "data", [b"not json", b"\xff", [1], {"student_id": "s"}, {"student_id": "", "event_id": "e"}]
)
def test_decode_refuses_what_is_not_the_driver_s(data: object) -> None:
    assert decode("1", data) is None


def test_entries_grouped_by_student_in_order() -> None:
    entries = [entry(1, "a"), entry(2, "b"), entry(3, "a")]
    assert by_student(entries) == {"a": [entries[0], entries[2]], "b": [entries[1]]}


async def test_one_call_per_entry_a_student_s_in_order_never_overlapping() -> None:
    calls = FakeCalls()
    entries = [entry(i, f"s{i % 3}") for i in range(9)]
    statuses = await Intake(calls, max_turns=64).handle(entries, ["bad"])
    assert statuses == {**{e.entry_id: SUCCESS for e in entries}, "bad": DROP}
    assert len(calls.calls) == 9
    for s in ("s0", "s1", "s2"):
        assert [e for sid, e in calls.calls if sid == s] == [
            e.event_id for e in entries if e.student_id == s
        ]
    assert not calls.overlapped


async def test_a_failed_call_retries_it_and_the_student_s_later_entries_only() -> None:
    calls = FakeCalls(fail={"e2"})
    entries = [entry(0, "a"), entry(1, "b"), entry(2, "a"), entry(3, "b"), entry(4, "a")]
    statuses = await Intake(calls, max_turns=2).handle(entries)
    assert statuses == {
        "id0": SUCCESS,
        "id1": SUCCESS,
        "id2": RETRY,
        "id3": SUCCESS,
        "id4": RETRY,
    }
    assert ("a", "e4") not in calls.calls  # never called past the failure


async def test_one_message_at_a_time() -> None:
    intake = Intake(FakeCalls(fail={"e1"}), max_turns=1)
    assert await intake.one(entry(0, "a")) == SUCCESS
    assert await intake.one(entry(1, "a")) == RETRY


async def test_http_bulk_answer_has_a_status_per_entry() -> None:
    request = {
        "entries": [
            {"entryId": "1", "event": {"data": {"student_id": "a", "event_id": "e1"}}},
            {"entryId": "2", "event": "not a cloud event"},
            {"entryId": "3", "event": {"data": '{"student_id": "b", "event_id": "e3"}'}},
        ]
    }
    answer = await handle_bulk(Intake(FakeCalls(), 8), request)
    assert sorted(answer["statuses"], key=lambda s: s["entryId"]) == [
        {"entryId": "1", "status": SUCCESS},
        {"entryId": "2", "status": DROP},
        {"entryId": "3", "status": SUCCESS},
    ]


async def test_daprd_s_calls_need_the_app_token_and_the_rest_goes_on() -> None:
    passed: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append(str(scope["path"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    runtime = Runtime(intake=Intake(FakeCalls(), 8))
    app = FloorCallbacks(inner, "secret", runtime)
    body = json.dumps({"entries": [{"entryId": "1", "event": {"data": {}}}]})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://floor"
    ) as client:
        refused = await client.post(BATCH_ROUTE, content=body)
        actor = await client.put("/actors/FloorActor/s1/method/Apply", content=b'"e"')
        batch = await client.post(BATCH_ROUTE, content=body, headers={"dapr-api-token": "secret"})
        other = await client.get("/health")
    assert refused.status_code == 401 and actor.status_code == 401
    assert batch.status_code == 200
    assert batch.json() == {"statuses": [{"entryId": "1", "status": DROP}]}
    assert other.status_code == 204 and passed == ["/health"]


BASE_ENV = {"DAPR_HTTP_PORT": "23800", "DAPR_GRPC_PORT": "25301", "APP_API_TOKEN": "t"}


def test_settings_default_to_today_s_http_path() -> None:
    s = FloorSettings.from_env(BASE_ENV)
    assert (s.host, s.clients, s.delivery) == ("fastapi", "http", "bulk")
    assert s.dapr_grpc_address == "127.0.0.1:25301"
    subs = s.http_subscriptions()
    assert [x["pubsubname"] for x in subs] == ["kafka-intake-1", "kafka-intake-2", "kafka-intake-3"]
    assert subs[0]["bulkSubscribe"] == {
        "enabled": True,
        "maxMessagesCount": 1000,
        "maxAwaitDurationMs": 20,
    }
    assert subs[0]["route"] == BATCH_ROUTE


def test_streaming_delivery_declares_no_subscription() -> None:
    s = FloorSettings.from_env({**BASE_ENV, "FLOOR_DELIVERY": "stream"})
    assert s.http_subscriptions() == []


@pytest.mark.parametrize(
    "env",
    [
        {"FLOOR_HOST": "grpc"},
        {"FLOOR_HOST": "stream", "FLOOR_CLIENTS": "http", "FLOOR_APP_GRPC_PORT": "1"},
        {"FLOOR_HOST": "stream", "FLOOR_CLIENTS": "grpc"},
        {"PROGRESS_INTAKE_LANES": "0"},
        {"DAPR_GRPC_PORT": "x"},
    ],
)
def test_settings_refuse_what_cannot_run(env: dict[str, str]) -> None:
    with pytest.raises(FloorSettingsError):
        FloorSettings.from_env({**BASE_ENV, **env})
