"""The struggle rules as teachers and admins work on them: feedback (what each kind raised
and what became of it), versioned rule sets, their dry run and their application."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import ValidationError

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN
from service.alerts.schemas import RuleStats
from service.auth import Admin, Staff
from service.deps import Alerts, DryRuns, EventLogDep, Live, Rosters, RuleSets
from service.errors import InvalidInput, NotFound
from service.frontend.routes.params import parse_since
from service.rosters.repository import RosterRepository
from service.rosters.scope import Scope
from service.rulesets.dry_run import MAX_EVENTS, dry_run, of_class
from service.rulesets.jobs import DryRunRequest
from service.rulesets.live import LiveRules
from service.rulesets.model import MAX_VERSION, DryRunIn, RuleSetIn, to_config
from service.rulesets.repository import RuleSetRepository, stored_rules
from service.rulesets.schemas import DryRunJobOut, DryRunOut, RuleSetOut
from service.schemas import problem

router = APIRouter(tags=["rules"])
Version = Annotated[int, Path(ge=1, le=MAX_VERSION)]
DEFAULT_PERIOD = timedelta(days=30)
EARLIEST = datetime.min.replace(tzinfo=UTC)


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
    start = parse_since(since) if since is not None else datetime.now(UTC) - DEFAULT_PERIOD
    kinds = await alerts.feedback(scope, class_id, start)
    return {"class_id": class_id, "since": start, "kinds": kinds}


# ------------------------------------------------------------------ rule sets
@router.get("/rules/sets", response_model=list[RuleSetOut])
async def list_rule_sets(_: Admin, rule_sets: RuleSets, live: Live) -> Any:
    """Every version, newest first; ``in_force`` marks the one the actors use."""
    in_force = live.current.rules_version
    return [{**r, "in_force": r["version"] == in_force} for r in await rule_sets.listed()]


@router.post("/rules/sets", response_model=RuleSetOut, status_code=201)
async def create_rule_set(body: RuleSetIn, principal: Admin, rule_sets: RuleSets) -> Any:
    """A new version of the thresholds (absent ones: the settings'), not applied: dry-run
    it, then apply it."""
    return {**await rule_sets.create(body, principal.subject), "in_force": False}


@router.get(
    "/rules/sets/{version}", response_model=RuleSetOut, responses={404: problem("no such version")}
)
async def get_rule_set(version: Version, _: Admin, rule_sets: RuleSets, live: Live) -> Any:
    found = await rule_sets.get(version)
    return {**found, "in_force": version == live.current.rules_version}


@router.post(
    "/rules/sets/{version}/apply",
    response_model=RuleSetOut,
    responses={404: problem("no such version")},
)
async def apply_rule_set(
    version: Version, principal: Admin, rule_sets: RuleSets, live: Live
) -> Any:
    """From now on the actors use this version, and new alerts record it: at once in this
    replica, within RULES_REFRESH in the others. Applying an older version is a rollback."""
    applied = await rule_sets.apply(version, principal.subject)
    await live.refresh()
    return {**applied, "in_force": version == live.current.rules_version}


async def _resolved(
    body: DryRunIn,
    who: str,
    rule_sets: RuleSetRepository,
    live: LiveRules,
    rosters: RosterRepository,
    retention: timedelta,
) -> DryRunRequest:
    """The rule sets, students and range a dry run request names (404: no such class or
    version; 422: a stored version that no longer validates)."""
    if body.version is not None:
        stored = await rule_sets.get(body.version)
        try:
            rules = stored_rules(stored)
        except ValidationError as exc:  # stored under looser bounds than today's
            message = f"rule set version {body.version} no longer validates: {exc}"
            raise InvalidInput(message) from exc
        candidate = to_config(live.base, rules, body.version)
    else:
        assert body.rule_set is not None
        rules = body.rule_set
        candidate = to_config(live.base, rules, 0)
    until = body.until or datetime.now(UTC)
    since = body.since or max(until, EARLIEST + retention) - retention
    members: list[str] | None = None
    if body.class_id is not None:
        roster = await rosters.roster(body.class_id)
        if roster is None:
            raise NotFound(f"no class {body.class_id!r}")
        members = sorted(roster.student_ids)
    return DryRunRequest(
        requested_by=who,
        current=live.current,
        candidate=candidate,
        candidate_version=body.version,
        candidate_rules=rules.model_dump(mode="json"),
        class_id=body.class_id,
        members=members,
        since=since,
        until=until,
    )


@router.post(
    "/rules/dry-run",
    response_model=DryRunOut,
    responses={404: problem("no such class or version"), 422: problem("too many events")},
)
async def dry_run_rules(
    body: DryRunIn,
    principal: Admin,
    rule_sets: RuleSets,
    live: Live,
    rosters: Rosters,
    event_log: EventLogDep,
) -> Any:
    """What a candidate rule set would change: the retained events of a class's students
    (or of every student active in a time range) replayed under the rules in force and
    under the candidate, from no state, with the pure rules. Per kind: alerts raised under
    each, those only the candidate raises (``added``) and those it no longer raises
    (``removed``). Nothing live is touched. Answered within the request up to 20,000
    events; a wider one runs in the background (``POST /rules/dry-runs``)."""
    request = await _resolved(
        body, principal.subject, rule_sets, live, rosters, event_log.retention
    )
    since, until, members = request.since, request.until, request.members
    counts = await event_log.counts_per_student(members, since, until)
    count = sum(counts.values())
    if count > MAX_EVENTS:  # refused before anything is read or replayed
        raise InvalidInput(
            f"{count} retained events in this class and range, at most {MAX_EVENTS} per dry "
            "run answered in the request: start it in the background (POST /rules/dry-runs "
            "with this body), or narrow the range (from, to) or name a class"
        )
    students = sorted(counts)
    logged = await event_log.events_of(students, since, until)
    classes = of_class(await rosters.classes_of(students), body.class_id)
    report = await dry_run(logged, request.current, request.candidate, until, classes)
    return {
        "current_version": request.current.rules_version,
        "candidate_version": body.version,
        "class_id": body.class_id,
        "from": since,
        "to": until,
        **report,
    }


# ------------------------------------------------------------ background dry runs
DryRunId = Annotated[str, Path(max_length=64, description="as POST /rules/dry-runs returned")]


@router.post(
    "/rules/dry-runs",
    response_model=DryRunJobOut,
    status_code=202,
    responses={
        404: problem("no such class or version"),
        409: problem("a dry run is running"),
        422: problem("too many events"),
    },
)
async def start_dry_run(
    body: DryRunIn,
    principal: Admin,
    response: Response,
    rule_sets: RuleSets,
    live: Live,
    rosters: Rosters,
    event_log: EventLogDep,
    dry_runs: DryRuns,
) -> Any:
    """The dry run of ``POST /rules/dry-run`` over any number of retained events (up to
    PROGRESS_DRY_RUN_MAX_EVENTS), in the background: answered at once with the dry run
    (``running``, events counted) and its address in ``Location``; poll it there until
    ``done`` (the report) or ``failed`` (why). One runs at a time (409 names it); a
    finished one is kept 7 days."""
    request = await _resolved(
        body, principal.subject, rule_sets, live, rosters, event_log.retention
    )
    job = await dry_runs.start(request)
    response.headers["Location"] = f"/rules/dry-runs/{job['id']}"
    return job


@router.get("/rules/dry-runs", response_model=list[DryRunJobOut])
async def list_dry_runs(_: Admin, dry_runs: DryRuns) -> Any:
    """The newest 20 background dry runs, newest first, without their reports."""
    return await dry_runs.store.recent()


@router.get(
    "/rules/dry-runs/{run_id}",
    response_model=DryRunJobOut,
    responses={404: problem("no such dry run")},
)
async def get_dry_run(run_id: DryRunId, _: Admin, dry_runs: DryRuns) -> Any:
    """A background dry run: its progress while ``running``, its report once ``done``,
    why it stopped once ``failed``."""
    return await dry_runs.store.get(run_id)
