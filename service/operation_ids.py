"""The OpenAPI ``operationId`` of every public route, by method and path: the names a
generated client's methods get, so they are chosen here and kept (issue 22).
tests/unit/test_openapi.py holds a copy and fails when one changes or a route has none
listed; renaming a route's function changes nothing here."""

from __future__ import annotations

import re
from typing import Any

OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/progress/{student_id}"): "getProgress",
    ("GET", "/progress/{student_id}/history"): "getProgressHistory",
    ("GET", "/struggles"): "listStruggles",
    ("POST", "/struggles/{alert_id}/acknowledge"): "acknowledgeStruggle",
    ("POST", "/struggles/{alert_id}/resolve"): "resolveStruggle",
    ("GET", "/struggles/stream"): "streamStruggles",
    ("POST", "/struggles/stream/tickets"): "createStreamTicket",
    ("GET", "/struggles/{alert_id}"): "getStruggle",
    ("GET", "/classes"): "listClasses",
    ("GET", "/classes/{class_id}/students"): "listClassStudents",
    ("GET", "/classes/{class_id}/topics"): "getClassTopics",
    ("GET", "/classes/{class_id}/exercises"): "getClassExercises",
    ("PUT", "/classes/{class_id}"): "putClass",
    ("DELETE", "/classes/{class_id}"): "deleteClass",
    ("POST", "/rosters/oneroster"): "importOneRoster",
    ("GET", "/rules/stats"): "getRuleStats",
    ("GET", "/rules/sets"): "listRuleSets",
    ("POST", "/rules/sets"): "createRuleSet",
    ("GET", "/rules/sets/{version}"): "getRuleSet",
    ("POST", "/rules/sets/{version}/apply"): "applyRuleSet",
    ("POST", "/rules/dry-run"): "dryRunRules",
    ("GET", "/rules/dry-runs"): "listDryRuns",
    ("POST", "/rules/dry-runs"): "startDryRun",
    ("GET", "/rules/dry-runs/{run_id}"): "getDryRun",
    ("DELETE", "/students/{student_id}"): "eraseStudent",
    ("GET", "/ops/actors"): "getOpsActors",
    ("GET", "/ops/students/{student_id}/reminders"): "getStudentReminders",
    ("GET", "/ops/intake"): "getOpsIntake",
    ("GET", "/ops/digests"): "getOpsDigests",
    ("GET", "/teachers/{teacher_id}/notifications"): "getTeacherNotifications",
    ("PUT", "/teachers/{teacher_id}/notifications"): "putTeacherNotifications",
    ("GET", "/teachers/{teacher_id}/digest"): "previewTeacherDigest",
    ("GET", "/notifications/unsubscribe"): "getUnsubscribePage",
    ("POST", "/notifications/unsubscribe"): "unsubscribeDigests",
    ("POST", "/xapi/statements"): "postXapiStatements",
    ("PUT", "/xapi/statements"): "putXapiStatement",
    ("GET", "/xapi/about"): "getXapiAbout",
    ("GET", "/statement-producers"): "listStatementProducers",
    ("POST", "/statement-producers"): "createStatementProducer",
    ("POST", "/statement-producers/{producer_id}/rotate"): "rotateStatementProducer",
    ("DELETE", "/statement-producers/{producer_id}"): "revokeStatementProducer",
    ("GET", "/problems/{kind}"): "getProblemType",
    ("GET", "/health"): "getHealth",
    ("GET", "/ready"): "getReadiness",
    ("GET", "/metrics"): "getMetrics",
}


def camel_case(name: str) -> str:
    """``list_class_students`` -> ``listClassStudents``."""
    first, *rest = [part for part in re.split(r"[^0-9A-Za-z]+", name) if part]
    return first.lower() + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: Any) -> str:
    """FastAPI's ``generate_unique_id_function``: the listed id of the route's method and
    path; a route not listed (Dapr's own, or a new one until it is listed) gets its
    function's name in camelCase, which the test of the listed ids reports."""
    method = sorted(route.methods)[0] if route.methods else "GET"
    return OPERATION_IDS.get((method, route.path_format)) or camel_case(route.name)
