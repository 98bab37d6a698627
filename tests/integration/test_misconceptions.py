"""Class-wide misconceptions end to end: events published through Dapr, student actors
signalling their classes' actors, one class_misconception alert for the class's
teachers — and none for a class one student short of the threshold."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.integration.kafka_io import TopicReader
from tests.integration.support import Student, applied, bearer, eventually, put_class

TOPIC = "python.loops"


async def fail_once(dapr: httpx.AsyncClient, api: httpx.AsyncClient, sid: str, error: str) -> str:
    student = Student(dapr, sid)
    event_id = await student.send(
        "code.executed", TOPIC, success=False, error_type=error, error_message=f"{error} here"
    )
    await applied(api, sid, 1)
    return event_id


async def class_alerts(api: httpx.AsyncClient, class_id: str, teacher: str) -> list[dict[str, Any]]:
    r = await api.get(
        "/struggles",
        params={"class_id": class_id, "kind": "class_misconception"},
        headers=bearer("teacher", teacher),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_class_misconception_from_a_published_stream(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, struggles: TopicReader
) -> None:
    tag = uuid.uuid4().hex[:8]
    hit = [f"mc-{tag}-a{i}" for i in range(10)]
    short = [f"mc-{tag}-b{i}" for i in range(10)]
    await put_class(api, f"mc-{tag}-a", [f"mt-{tag}-a"], hit)
    await put_class(api, f"mc-{tag}-b", [f"mt-{tag}-b"], short)

    # class a: three of ten hit TypeError in the topic (30 %, and 3 students): one alert
    events = [await fail_once(dapr, api, sid, "TypeError") for sid in hit[:3]]
    # class b: two hit TypeError, a third another error: one student short
    for sid in short[:2]:
        await fail_once(dapr, api, sid, "TypeError")
    await fail_once(dapr, api, short[2], "NameError")

    [alert] = await eventually(lambda: class_alerts(api, f"mc-{tag}-a", f"mt-{tag}-a"))
    assert alert["class_id"] == f"mc-{tag}-a" and alert["student_id"] is None
    assert alert["topic_id"] == TOPIC and alert["status"] == "open"
    assert alert["details"]["students"] == sorted(hit[:3])
    assert alert["details"]["error_type"] == "TypeError"
    assert sorted(alert["evidence"]["event_ids"]) == sorted(events)
    assert alert["rule"]["thresholds"] == {
        "misconception_share": 0.3,
        "misconception_min_students": 3,
        "misconception_window_hours": 24.0,
    }
    key, message = await struggles.wait_for(lambda v: v["data"].get("class_id") == f"mc-{tag}-a")
    assert key == f"class:mc-{tag}-a".encode()
    assert message["data"]["alert_id"] == alert["id"]

    # a fourth student of class a adds nothing: one open alert per class, topic and type
    await fail_once(dapr, api, hit[3], "TypeError")
    assert len(await class_alerts(api, f"mc-{tag}-a", f"mt-{tag}-a")) == 1
    assert await class_alerts(api, f"mc-{tag}-b", f"mt-{tag}-b") == []
    # the other class's teacher does not see it, nor a student of the class
    r = await api.get(
        "/struggles",
        params={"kind": "class_misconception"},
        headers=bearer("teacher", f"mt-{tag}-b"),
    )
    assert all(a["class_id"] != f"mc-{tag}-a" for a in r.json()["items"])
    r = await api.post(f"/struggles/{alert['id']}/acknowledge", headers=bearer("student", hit[0]))
    assert r.status_code == 403
    # the class's teacher acknowledges it like any alert
    r = await api.post(
        f"/struggles/{alert['id']}/acknowledge", headers=bearer("teacher", f"mt-{tag}-a")
    )
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"

    # erasing a student takes them out of the class alert
    assert (await api.delete(f"/students/{hit[0]}")).status_code == 200
    [after] = await class_alerts(api, f"mc-{tag}-a", f"mt-{tag}-a")
    assert after["details"]["students"] == sorted(hit[1:3])
    assert hit[0] not in after["evidence"]["students"] and len(after["evidence"]["event_ids"]) == 2

    # erasing a student takes their signals out of the class's count: class b had two
    # TypeErrors (b0, b1); with b0 erased a third student makes two, not three
    assert (await api.delete(f"/students/{short[0]}")).status_code == 200
    await fail_once(dapr, api, short[3], "TypeError")
    await fail_once(dapr, api, short[4], "TypeError")  # three again: b1, b3, b4
    [later] = await eventually(lambda: class_alerts(api, f"mc-{tag}-b", f"mt-{tag}-b"))
    assert later["details"]["students"] == sorted([short[1], short[3], short[4]])
