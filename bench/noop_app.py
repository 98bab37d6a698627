"""The floor: a Dapr subscriber that acknowledges every message and does nothing, on
the same daprd + Kafka as the service. Its throughput is what Dapr and Kafka allow.

FLOOR_BULK=1 subscribes with the service's bulk settings (PROGRESS_BULK_MAX_MESSAGES,
PROGRESS_BULK_MAX_AWAIT_MS) and answers every entry SUCCESS; otherwise per message."""

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FLOOR_TOPIC = "bench.floor.events"
_count = {"n": 0}


BULK = os.environ.get("FLOOR_BULK") == "1"


async def subscribe(_: Request) -> JSONResponse:
    sub: dict[str, object] = {
        "pubsubname": "kafka-pubsub",
        "topic": FLOOR_TOPIC,
        "route": "/events/floor",
    }
    if BULK:
        sub["bulkSubscribe"] = {
            "enabled": True,
            "maxMessagesCount": int(os.environ.get("PROGRESS_BULK_MAX_MESSAGES", "1000")),
            "maxAwaitDurationMs": int(os.environ.get("PROGRESS_BULK_MAX_AWAIT_MS", "20")),
        }
    return JSONResponse([sub])


async def event(request: Request) -> JSONResponse:
    body = await request.body()
    if not BULK:
        _count["n"] += 1
        return JSONResponse({"status": "SUCCESS"})
    entries = json.loads(body)["entries"]
    _count["n"] += len(entries)
    return JSONResponse(
        {"statuses": [{"entryId": e["entryId"], "status": "SUCCESS"} for e in entries]}
    )


async def count(_: Request) -> JSONResponse:
    return JSONResponse(_count)


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "up"})


app = Starlette(
    routes=[
        Route("/dapr/subscribe", subscribe),
        Route("/events/floor", event, methods=["POST"]),
        Route("/count", count),
        Route("/health", health),
        Route("/healthz", health),
    ]
)
