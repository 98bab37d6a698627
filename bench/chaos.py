"""Fault suite: publish a known stream, inject a fault mid-stream, let the system
recover, then check every student's final state against the pure domain's replay of
the same stream: no event lost, none counted twice, no duplicate alert.

    python -m bench.chaos [--events N] [--outage SECONDS] [--overload-rate R] [scenario ...]

Runs against the test instance that tests/integration/stack.py starts (make chaos does
that); the pytest form (tests/integration/test_chaos.py) runs a shorter version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench.harness import (
    Expected,
    compare,
    expected_state,
    process_memory_mb,
    wait_until_applied,
)
from bench.run import handled_count
from bench.workload import Event, generate
from bench.xapi_statements import HEADERS as XAPI_HEADERS
from bench.xapi_statements import statement
from service.dev_token import mint
from service.frontend.xapi.mapping import Mapped, load_mapping, map_statement
from service.settings import Settings, domain_config
from tests.integration.kafka_io import Publisher, TopicReader
from tests.integration.stack import (
    REPO,
    RUNTIME,
    Ports,
    Stack,
    actor_host_ports,
    phase,
    shifted,
    stop_on_sigterm,
)

STACK_DIR = Path(os.environ.get("STACK_DIR", REPO / ".stack"))


@dataclass
class Context:
    stack: Stack
    ports: Ports
    api: httpx.AsyncClient
    pg: asyncpg.Connection
    events: int
    outage_s: float
    overload_rate: float = 1450.0


def _pid(name: str) -> int:
    return int((STACK_DIR / "run" / f"{name}.pid").read_text())


def _script(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        args,
        check=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,
    )


async def _publish(events: list[Event], bootstrap: str) -> None:
    async with Publisher(bootstrap) as pub:
        for e in events:
            await pub.send(e)
        await pub.flush()


async def _run(
    ctx: Context,
    name: str,
    events: list[Event],
    fault: Callable[[], Awaitable[None]] | None,
    published: list[Event] | None = None,
) -> dict[str, object]:
    """Publish the first half, inject the fault, publish the rest, wait, compare."""
    bootstrap = f"127.0.0.1:{ctx.ports.kafka}"
    half = len(events) // 2
    start = time.monotonic()
    await _publish(events[:half], bootstrap)
    if fault is not None:
        await fault()
    await _publish(events[half:], bootstrap)
    return await _settle(ctx, name, published or events, start)


async def _settle(ctx: Context, name: str, events: list[Event], start: float) -> dict[str, object]:
    """Wait until every student applied what ``events`` imply; compare with the replay."""
    expected: Expected = expected_state(events, domain_config(Settings()))
    try:
        await wait_until_applied(ctx.api, expected, timeout=300)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {await _explain_missing(ctx, events)}") from exc

    await asyncio.sleep(2)  # anything still in flight would now show as a double count
    problems = await compare(ctx.api, ctx.pg, expected)
    return {
        "scenario": name,
        "events": len(events),
        "students": len(expected.progress),
        "recovered_in_s": round(time.monotonic() - start, 1),
        "problems": problems,
    }


async def _explain_missing(ctx: Context, events: list[Event]) -> str:
    """Which events never reached a student's state, and whether Dapr dead-lettered
    them (so a failure says whether a delivery was lost or given up on)."""
    wanted: dict[str, set[str]] = {}
    for e in events:
        wanted.setdefault(e.student_id, set()).add(e.event_id)
    rows = await ctx.pg.fetch(
        "select key, value from dapr_actor_state where key like '%||StudentProgressActor||%'"
    )
    seen: dict[str, set[str]] = {}
    for row in rows:
        student = row["key"].split("||")[2]
        if student in wanted:
            value = json.loads(row["value"])
            state = json.loads(value) if isinstance(value, str) else value
            seen[student] = set(state.get("recent_event_ids", []))
    missing = {eid for s, ids in wanted.items() for eid in ids - seen.get(s, set())}
    if not missing:
        return "no event id missing from the stored states"
    reader = TopicReader(f"127.0.0.1:{ctx.ports.kafka}", "progress.deadletter")
    dead: set[str] = set()
    try:
        await reader.start(from_beginning=True)
        while True:
            try:
                _, record = await reader.wait_for(lambda v: True, timeout=3)
            except TimeoutError:
                break
            text = json.dumps(record)
            dead |= {eid for eid in missing if eid in text}
    finally:
        await reader.stop()
    return (
        f"missing event ids {sorted(missing)[:10]}; of these in progress.deadletter: "
        f"{sorted(dead)[:10]}"
    )


def _stream(ctx: Context, tag: str) -> list[Event]:

    prefix = f"chaos-{tag}-{uuid.uuid4().hex[:6]}"
    return generate(
        ctx.events, max(10, ctx.events // 15), seed=hash(prefix) & 0xFFFF, prefix=prefix
    )


async def _kill_and_restart(ctx: Context, part: str) -> dict[str, object]:
    """kill -9 the app process or its daprd (``part``: "app" or "daprd"), restart it."""

    async def fault() -> None:
        os.kill(_pid(f"{ctx.stack.actor_host_name}-{part}"), signal.SIGKILL)
        await asyncio.sleep(1)
        ctx.stack.actor_host(f"start-{part}")
        ctx.stack.actor_host("wait")

    return await _run(ctx, f"kill -9 {part}", _stream(ctx, part), fault)


async def kill_app(ctx: Context) -> dict[str, object]:
    return await _kill_and_restart(ctx, "app")


async def kill_daprd(ctx: Context) -> dict[str, object]:
    return await _kill_and_restart(ctx, "daprd")


async def _host_handled(ctx: Context) -> float:
    """Events the actor host has handled (its own /metrics, not the front end's)."""
    url = (actor_host_ports(ctx.ports) if ctx.stack.split else ctx.ports).app_url
    async with httpx.AsyncClient(base_url=url, timeout=10) as host:
        return await handled_count(host)


async def _send_until_taken(
    ctx: Context, statements: list[dict[str, object]], problems: list[str]
) -> int:
    """Send ``statements`` through POST /xapi/statements in batches of 4, paced over a
    few seconds, re-sending a batch whose answer did not come (connection refused or
    cut, 5xx) as an xAPI client does: statement ids make a re-send safe. Re-sends made."""
    resent = 0
    for i in range(0, len(statements), 4):
        body = json.dumps(statements[i : i + 4])
        deadline = time.monotonic() + 120
        while True:
            try:
                r = await ctx.api.post(
                    "/xapi/statements",
                    content=body,
                    headers={**XAPI_HEADERS, "content-type": "application/json"},
                )
                if r.status_code == 200:
                    break
                if r.status_code < 500:
                    problems.append(f"statements refused: {r.status_code} {r.text[:200]}")
                    break
            except httpx.TransportError:
                pass  # the front end is down: send again, as a client does
            if time.monotonic() > deadline:
                problems.append(f"statements {i}-{i + 3} not taken within 120 s")
                break
            resent += 1
            await asyncio.sleep(0.5)
        await asyncio.sleep(0.15)
    return resent


async def _kill_front_end(ctx: Context, parts: tuple[str, ...]) -> dict[str, object]:
    """kill -9 the front end's ``parts`` ("app", "daprd"; role api, or the one process
    when not split) mid-stream, while a client sends xAPI statements through it and
    Kafka carries events. The actor host keeps applying Kafka's events meanwhile;
    every statement re-sent until answered counts once; after the restart the state
    equals the replay of both streams."""
    events = _stream(ctx, "front")
    rnd = random.Random(hash(events[0].event_id) & 0xFFFF)
    tag = events[0].student_id.rsplit("-", 1)[0] + "-x"
    statements: list[dict[str, object]] = [statement(rnd, tag) for _ in range(60)]
    mapping = load_mapping(REPO / "config" / "xapi-mapping.toml")
    mapped = [map_statement(s, mapping, datetime.now(UTC)) for s in statements]
    from_statements = [Event(m.type, m.data) for m in mapped if isinstance(m, Mapped)]
    during: list[str] = []
    sending = asyncio.create_task(_send_until_taken(ctx, statements, during))
    bootstrap = f"127.0.0.1:{ctx.ports.kafka}"
    half = len(events) // 2
    start = time.monotonic()
    await _publish(events[:half], bootstrap)
    await asyncio.sleep(1)  # statements in flight when the front end dies
    before = await _host_handled(ctx)
    for part in parts:
        os.kill(_pid(f"{ctx.stack.name}-{part}"), signal.SIGKILL)
    await _publish(events[half:], bootstrap)
    if ctx.stack.split:  # the actor host does not need a front end to apply events
        deadline = time.monotonic() + 60
        while await _host_handled(ctx) <= before and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if await _host_handled(ctx) <= before:
            during.append("the actor host applied nothing while the front end was down")
    await asyncio.sleep(ctx.outage_s)
    for part in ("daprd", "app"):
        if part in parts:
            ctx.stack.front_end(f"start-{part}")
    ctx.stack.front_end("wait")
    resent = await sending
    result = await _settle(
        ctx, f"kill -9 the front end's {' + '.join(parts)}", events + from_statements, start
    )
    after = result["problems"]
    assert isinstance(after, list)
    result["problems"] = during + after
    result["statements"] = {"sent": len(statements), "mapped": len(from_statements)}
    result["statement_batches_resent"] = resent
    return result


async def kill_front_end(ctx: Context) -> dict[str, object]:
    return await _kill_front_end(ctx, ("app", "daprd"))


async def kill_front_end_daprd(ctx: Context) -> dict[str, object]:
    return await _kill_front_end(ctx, ("daprd",))


async def _a_student_readable(ctx: Context, events: list[Event]) -> str:
    """A student of ``events`` whose progress the API already answers (60 s at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for sid in dict.fromkeys(e.student_id for e in events):
            if (await ctx.api.get(f"/progress/{sid}")).status_code == 200:
                return sid
        await asyncio.sleep(0.5)
    raise AssertionError("no student of the first half became readable within 60 s")


async def _reads_without_kafka(ctx: Context, student_id: str) -> list[str]:
    """With Kafka stopped: readiness holds, /health names Kafka, the read API answers
    (docs/operations.md, "Readiness and liveness")."""
    problems = []
    ready = await ctx.api.get("/ready")
    if ready.status_code != 200:
        problems.append(f"/ready answered {ready.status_code} while Kafka was down: {ready.text}")
    health = await ctx.api.get("/health")
    if health.status_code != 503 or health.json().get("down") != ["kafka"]:
        problems.append(
            f"/health did not name kafka alone as down: {health.status_code} {health.text}"
        )
    for path in (f"/progress/{student_id}", f"/progress/{student_id}/history", "/struggles"):
        r = await ctx.api.get(path)
        if r.status_code != 200:
            problems.append(f"GET {path} answered {r.status_code} while Kafka was down")
    return problems


async def _healthy_again(ctx: Context, timeout: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = await ctx.api.get("/health")
        if health.status_code == 200:
            return []
        await asyncio.sleep(1)
    return [f"/health still {health.status_code} {timeout:g} s after Kafka was back: {health.text}"]


async def stop_kafka(ctx: Context) -> dict[str, object]:
    """Kafka stopped mid-stream: nothing lost or doubled, and while it is away the
    replica stays ready and the read API answers; /health is 200 again after."""
    events = _stream(ctx, "kafka")
    during: list[str] = []

    async def fault() -> None:
        student_id = await _a_student_readable(ctx, events[: len(events) // 2])
        _script(str(RUNTIME / "down.sh"), "kafka")
        started = time.monotonic()
        during.extend(await _reads_without_kafka(ctx, student_id))
        await asyncio.sleep(max(0.0, ctx.outage_s - (time.monotonic() - started)))
        _script(str(RUNTIME / "up.sh"))
        during.extend(await _healthy_again(ctx))

    result = await _run(ctx, f"stop Kafka {ctx.outage_s:g}s", events, fault)
    after = result["problems"]
    assert isinstance(after, list)
    result["problems"] = during + after
    result["read_api_checked_while_down"] = True
    return result


async def stop_postgres(ctx: Context) -> dict[str, object]:
    async def fault() -> None:
        await ctx.pg.close()
        _script(str(RUNTIME / "down.sh"), "postgres")
        await asyncio.sleep(ctx.outage_s)
        _script(str(RUNTIME / "up.sh"))
        ctx.pg = await asyncpg.connect(ctx.ports.database_url)

    return await _run(ctx, f"stop PostgreSQL {ctx.outage_s:g}s", _stream(ctx, "pg"), fault)


async def duplicates_and_out_of_order(ctx: Context) -> dict[str, object]:
    events = _stream(ctx, "dup")
    rnd = random.Random(7)
    middle = events[len(events) // 3 : 2 * len(events) // 3]
    rnd.shuffle(middle)  # a batch delivered out of order
    reordered = events[: len(events) // 3] + middle + events[2 * len(events) // 3 :]
    doubled = [e for e in reordered for _ in (0, 1)]  # every event delivered twice
    return await _run(
        ctx, "every event twice + a batch out of order", doubled, None, published=reordered
    )


async def poison_interleaved(ctx: Context) -> dict[str, object]:
    events = _stream(ctx, "poison")
    poison_count = max(20, ctx.events // 2) if ctx.events < 2000 else 1000
    marker = uuid.uuid4().hex[:8]
    reader = TopicReader(f"127.0.0.1:{ctx.ports.kafka}", "progress.deadletter")
    await reader.start()
    try:
        async with Publisher(f"127.0.0.1:{ctx.ports.kafka}") as pub:
            step = max(1, len(events) // poison_count)
            sent = 0
            for i, e in enumerate(events):
                await pub.send(e)
                if i % step == 0 and sent < poison_count:
                    bad = json.dumps(
                        {
                            "specversion": "1.0",
                            "id": f"p{sent}",
                            "source": "chaos",
                            "type": e.type,
                            "data": {
                                **e.data,
                                "event_id": f"poison-{marker}-{sent}",
                                "occurred_at": "not a time",
                            },
                        }
                    )
                    await pub.send_raw(e.kafka_topic, bad.encode(), e.student_id)
                    sent += 1
            await pub.flush()
        expected = expected_state(events, domain_config(Settings()))
        await wait_until_applied(ctx.api, expected, timeout=300)
        found = 0
        deadline = time.monotonic() + 120
        while found < sent and time.monotonic() < deadline:
            _, record = await reader.wait_for(
                lambda v: str(v["data"]["original"]).find(f"poison-{marker}") >= 0, timeout=120
            )
            assert "occurred_at" in record["data"]["reason"]
            found += 1
        problems = await compare(ctx.api, ctx.pg, expected)
        if found != sent:
            problems.append(f"only {found} of {sent} poison events in progress.deadletter")
    finally:
        await reader.stop()
    return {
        "scenario": f"{sent} poison events interleaved",
        "events": len(events),
        "students": len(expected.progress),
        "dead_lettered": found,
        "problems": problems,
    }


async def _paced_publish(events: list[Event], bootstrap: str, rate: float) -> float:
    """Publish ``events`` at ``rate`` per second (in 20 ms slices); seconds taken."""
    start = time.monotonic()
    async with Publisher(bootstrap) as pub:
        for i, e in enumerate(events):
            if i % max(1, int(rate / 50)) == 0:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await pub.send(e)
        await pub.flush()
    return time.monotonic() - start


async def overload(ctx: Context) -> dict[str, object]:
    """Sustained overload: publish at twice the saturation rate (ctx.overload_rate, set
    from `make bench`'s figure) for 6 x the outage time (3 minutes in the long form).
    Nothing may be lost or doubled, the app's memory must stay bounded (daprd keeps one
    batch per intake lane in flight, so the backlog waits in Kafka, not in the app), and
    the backlog must drain afterwards."""
    count = int(ctx.overload_rate * 6 * ctx.outage_s)
    prefix = f"chaos-overload-{uuid.uuid4().hex[:6]}"
    events = generate(count, 500, seed=hash(prefix) & 0xFFFF, prefix=prefix)
    expected = expected_state(events, domain_config(Settings()))
    app_pid = _pid(f"{ctx.stack.actor_host_name}-app")
    rss: list[float] = [process_memory_mb(app_pid)]
    done = asyncio.Event()

    async def sample_rss() -> None:
        while not done.is_set():
            rss.append(process_memory_mb(app_pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample_rss())
    start = time.monotonic()
    try:
        published_in = await _paced_publish(
            events, f"127.0.0.1:{ctx.ports.kafka}", ctx.overload_rate
        )
        await wait_until_applied(ctx.api, expected, timeout=900)
        drained = time.monotonic() - start
    finally:
        done.set()
        await sampler
    await asyncio.sleep(2)
    return {
        "scenario": f"overload {ctx.overload_rate:g} events/s for {6 * ctx.outage_s:g} s",
        "events": count,
        "students": len(expected.progress),
        "recovered_in_s": round(drained, 1),
        "published_in_s": round(published_in, 1),
        "published_per_s": round(count / published_in, 1),
        "backlog_drained_after_publish_s": round(drained - published_in, 1),
        "app_rss_mb": {"start": round(rss[0], 1), "peak": round(max(rss), 1)},
        "problems": await compare(ctx.api, ctx.pg, expected),
    }


def _replica(ctx: Context, i: int) -> Stack:
    return Stack(shifted(ctx.ports, 100 * i), name=f"replica{i}")


async def kill_replica(ctx: Context) -> dict[str, object]:
    """Three replicas (each with its own daprd); one dies (kill -9 app and daprd) mid-
    stream. Its actors move to the others; the state is complete; stuck reminders of
    every student still fire."""
    extra = [_replica(ctx, 1), _replica(ctx, 2)]
    for r in extra:
        r.app("start")
    try:
        await asyncio.sleep(5)  # consumer-group rebalance and placement dissemination

        async def fault() -> None:
            os.kill(_pid("replica2-app"), signal.SIGKILL)
            os.kill(_pid("replica2-daprd"), signal.SIGKILL)

        events = _stream(ctx, "replica")
        result = await _run(ctx, "3 replicas, kill -9 one", events, fault)
        # exercises never passed must be reported stuck by the survivors (wake-up reminders)
        expected = expected_state(events, domain_config(Settings()))
        pending = {
            (sid, t["topic_id"])
            for sid, p in expected.progress.items()
            for t in p["topics"]
            if _has_pending(events, sid, t["topic_id"])
        }
        deadline = time.monotonic() + 120
        missing = pending
        while missing and time.monotonic() < deadline:
            rows = await ctx.pg.fetch(
                "select student_id, topic_id from struggle_alerts where kind = 'stuck' "
                "and student_id = any($1)",
                list(expected.progress),
            )
            missing = pending - {(r["student_id"], r["topic_id"]) for r in rows}
            await asyncio.sleep(2)
        if missing:
            result["problems"].append(  # type: ignore[attr-defined]
                f"{len(missing)} stuck alerts never raised, e.g. {sorted(missing)[:3]}"
            )
        result["stuck_alerts_checked"] = len(pending)
        return result
    finally:
        for r in extra:
            r.app("stop")


def _has_pending(events: list[Event], student: str, topic: str) -> bool:
    started = {
        e.data["exercise_id"]
        for e in events
        if e.student_id == student
        and e.type == "exercise.started"
        and e.data.get("topic_id") == topic
    }
    passed = {
        e.data["exercise_id"]
        for e in events
        if e.student_id == student
        and e.type == "exercise.submitted"
        and e.data.get("passed")
        and e.data.get("topic_id") == topic
    }
    return bool(started - passed)


SCENARIOS = {
    "kill-app": kill_app,
    "kill-daprd": kill_daprd,
    "kill-front-end": kill_front_end,
    "kill-front-end-daprd": kill_front_end_daprd,
    "stop-kafka": stop_kafka,
    "stop-postgres": stop_postgres,
    "duplicates": duplicates_and_out_of_order,
    "poison": poison_interleaved,
    "kill-replica": kill_replica,
    "overload": overload,
}


async def run_scenarios(
    stack: Stack, names: list[str], events: int, outage_s: float, overload_rate: float = 1450.0
) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {mint('admin', 'chaos')}"}
    async with httpx.AsyncClient(base_url=stack.ports.app_url, headers=headers, timeout=30) as api:
        ctx = Context(
            stack,
            stack.ports,
            api,
            await asyncpg.connect(stack.ports.database_url),
            events,
            outage_s,
            overload_rate,
        )
        try:
            results = []
            for n in names:
                with phase(f"scenario {n}"):
                    results.append(await SCENARIOS[n](ctx))
            return results
        finally:
            await ctx.pg.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument(
        "--overload-rate",
        type=float,
        default=1450.0,
        help="events/s the overload scenario offers (default: twice make bench's 725/s)",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    # the two roles, as the chart deploys them (TEST_SPLIT=0: one process of role all)
    stack = Stack(Ports(), split=os.environ.get("TEST_SPLIT", "1") != "0")
    stack.up()
    try:
        results = asyncio.run(
            run_scenarios(stack, args.scenarios, args.events, args.outage, args.overload_rate)
        )
    finally:
        stack.down()
    failed = 0
    for r in results:
        ok = not r["problems"]
        failed += not ok
        sys.stdout.write(
            f"{'PASS' if ok else 'FAIL'}  {r['scenario']}: {r['events']} events, "
            f"{r['students']} students, done in {r.get('recovered_in_s', '-')} s\n"
        )
        for p in list(r["problems"])[:10]:  # type: ignore[call-overload]
            sys.stdout.write(f"      {p}\n")
    suffix = "" if set(args.scenarios) == set(SCENARIOS) else "-" + "-".join(args.scenarios)
    out = REPO / "bench" / "results" / f"chaos-{time.strftime('%Y-%m-%d')}{suffix}.json"

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(f"{len(results) - failed} passed, {failed} failed\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
