"""structlog, configured once: JSON lines in production, key-value output in a terminal.

Every line of one request's or one event's work carries the W3C trace id from Dapr's
``traceparent`` header (bound by service.request_context). Secrets never reach the
output: values under sensitive keys and anything shaped like a JWT are masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from service.settings import Settings

SENSITIVE_KEYS = re.compile(r"authorization|token|secret|password|api[-_]?key|cookie", re.I)
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
MASK = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return JWT_SHAPE.sub(MASK, value)
    if isinstance(value, dict):
        return {k: MASK if SENSITIVE_KEYS.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets before rendering."""
    for key in list(event_dict):
        if SENSITIVE_KEYS.search(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


class ScrubAccessLog(logging.Filter):
    """uvicorn's access log (on in the chart) prints each request line with its query
    string, where a stream ticket travels (``/struggles/stream?ticket=eyJ...``): mask
    anything shaped like a JWT in its arguments, as in the app's own lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub(arg) for arg in record.args)
        return True


def configure_logging(settings: Settings) -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, ScrubAccessLog) for f in access.filters):
        access.addFilter(ScrubAccessLog())
    renderer: structlog.types.Processor
    if settings.log_format == "console" or (settings.log_format == "auto" and sys.stderr.isatty()):
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[settings.log_level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
