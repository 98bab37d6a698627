"""Teachers' feedback on the struggle rules: what each kind raised and what became of it."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN, NotRfc3339, parse_rfc3339
from service.alerts.schemas import RuleStats
from service.auth import Staff
from service.deps import Alerts, Rosters
from service.errors import InvalidInput, NotFound
from service.rosters.scope import Scope
from service.schemas import problem

router = APIRouter(tags=["rules"])
DEFAULT_PERIOD = timedelta(days=30)


@router.get("/rules/stats", response_model=RuleStats, responses={404: problem("no such class")})
async def rule_stats(
    principal: Staff,
    alerts: Alerts,
    rosters: Rosters,
    class_id: Annotated[
        str | None,
        Query(
            description="only the alerts of this class's students",
            max_length=STUDENT_ID_MAX,
            pattern=STUDENT_ID_PATTERN,
        ),
    ] = None,
    since: Annotated[
        str | None,
        Query(
            description="alerts detected at or after (RFC 3339 with offset); default 30 days ago",
            json_schema_extra={"format": "date-time"},
            max_length=64,
        ),
    ] = None,
) -> Any:
    """Per alert kind, of the alerts of the students the caller reaches (a teacher: of
    the classes they teach; an admin: all): raised, acknowledged, resolved as addressed
    and as not useful, the not-useful share of the resolved ones, and the median minutes
    from an alert appearing to its acknowledgement."""
    scope = Scope.of(principal)
    if class_id is not None and not await rosters.reaches_class(scope, class_id):
        raise NotFound(f"no class {class_id!r}")
    try:
        start = parse_rfc3339(since, "since") if since else datetime.now(UTC) - DEFAULT_PERIOD
    except NotRfc3339 as exc:
        raise InvalidInput(str(exc)) from exc
    kinds = await alerts.feedback(scope, class_id, start)
    return {"class_id": class_id, "since": start, "kinds": kinds}
