"""The floor: a Dapr subscriber that acknowledges every message and does nothing, on
the same daprd + Kafka as the service. Its throughput is what Dapr and Kafka allow."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FLOOR_TOPIC = "bench.floor.events"
_count = {"n": 0}


async def subscribe(_: Request) -> JSONResponse:
    return JSONResponse(
        [{"pubsubname": "kafka-pubsub", "topic": FLOOR_TOPIC, "route": "/events/floor"}]
    )


async def event(request: Request) -> JSONResponse:
    await request.body()
    _count["n"] += 1
    return JSONResponse({"status": "SUCCESS"})


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
