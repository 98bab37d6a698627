"""The service's errors, by what they mean. Clients (the actor gateway, the sidecar, the
alert store) and routes raise these; service/problems.py maps each kind to one HTTP
status and a problem document, in one place. Nothing below knows about HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """A failure the caller can be told about; ``detail`` is safe to show, and so are
    ``extensions`` (extra members of the problem document, e.g. a list of problems)."""

    def __init__(self, detail: str, extensions: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = dict(extensions or {})


class NotFound(ServiceError):
    """The thing asked for does not exist (or the caller may not know that it does)."""


class Forbidden(ServiceError):
    """The caller is known but may not do this."""


class Unauthenticated(ServiceError):
    """No usable credentials."""


class Conflict(ServiceError):
    """The request contradicts the current state (e.g. acknowledging a resolved alert)."""


class InvalidInput(ServiceError):
    """A parameter or body the caller can fix."""


class Malformed(ServiceError):
    """A body that cannot be read as the route takes it (not JSON, a statement that is
    not valid xAPI): 400, where the route's protocol asks for it rather than 422."""


class UnknownReference(ServiceError):
    """A cursor or stream position this service did not issue."""


class Unavailable(ServiceError):
    """A dependency (daprd, a student's actor, the database, placement) cannot be reached
    or failed; usually transient."""
