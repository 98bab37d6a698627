"""The committed OpenAPI document is the app's: regenerate with `make openapi`."""

import re
from typing import Any

import yaml

from service.alerts.stream import EVENTS
from service.openapi_export import OPENAPI_FILE, current_document
from service.operation_ids import OPERATION_IDS as CODE_IDS
from service.operation_ids import camel_case


def test_committed_openapi_matches_the_app() -> None:
    committed = yaml.safe_load(OPENAPI_FILE.read_text())
    assert committed == current_document(), (
        "docs/openapi.yaml is out of date with the app: run `make openapi` and commit it"
    )


def test_dapr_facing_routes_are_not_in_the_public_document() -> None:
    paths = current_document()["paths"]
    assert not [p for p in paths if p.startswith(("/dapr", "/events", "/actors", "/healthz"))]
    assert {"/progress/{student_id}", "/struggles", "/struggles/stream", "/health"} <= set(paths)


# The operationIds a generated client's methods are named by (issue 22). A copy of
# service/operation_ids.py on purpose: changing one there, or adding a route, fails here
# until this list says the same, so none changes by accident.
OPERATION_IDS = {
    "GET /progress/{student_id}": "getProgress",
    "GET /progress/{student_id}/history": "getProgressHistory",
    "GET /struggles": "listStruggles",
    "POST /struggles/{alert_id}/acknowledge": "acknowledgeStruggle",
    "POST /struggles/{alert_id}/resolve": "resolveStruggle",
    "GET /struggles/stream": "streamStruggles",
    "POST /struggles/stream/tickets": "createStreamTicket",
    "GET /struggles/{alert_id}": "getStruggle",
    "GET /classes": "listClasses",
    "GET /classes/{class_id}/students": "listClassStudents",
    "GET /classes/{class_id}/topics": "getClassTopics",
    "GET /classes/{class_id}/exercises": "getClassExercises",
    "PUT /classes/{class_id}": "putClass",
    "DELETE /classes/{class_id}": "deleteClass",
    "POST /rosters/oneroster": "importOneRoster",
    "GET /rules/stats": "getRuleStats",
    "GET /rules/sets": "listRuleSets",
    "POST /rules/sets": "createRuleSet",
    "GET /rules/sets/{version}": "getRuleSet",
    "POST /rules/sets/{version}/apply": "applyRuleSet",
    "POST /rules/dry-run": "dryRunRules",
    "GET /rules/dry-runs": "listDryRuns",
    "POST /rules/dry-runs": "startDryRun",
    "GET /rules/dry-runs/{run_id}": "getDryRun",
    "DELETE /students/{student_id}": "eraseStudent",
    "GET /ops/actors": "getOpsActors",
    "GET /ops/students/{student_id}/reminders": "getStudentReminders",
    "GET /ops/intake": "getOpsIntake",
    "GET /ops/digests": "getOpsDigests",
    "GET /teachers/{teacher_id}/notifications": "getTeacherNotifications",
    "PUT /teachers/{teacher_id}/notifications": "putTeacherNotifications",
    "GET /teachers/{teacher_id}/digest": "previewTeacherDigest",
    "GET /notifications/unsubscribe": "getUnsubscribePage",
    "POST /notifications/unsubscribe": "unsubscribeDigests",
    "POST /xapi/statements": "postXapiStatements",
    "PUT /xapi/statements": "putXapiStatement",
    "GET /xapi/about": "getXapiAbout",
    "GET /statement-producers": "listStatementProducers",
    "POST /statement-producers": "createStatementProducer",
    "POST /statement-producers/{producer_id}/rotate": "rotateStatementProducer",
    "DELETE /statement-producers/{producer_id}": "revokeStatementProducer",
    "GET /problems/{kind}": "getProblemType",
    "GET /health": "getHealth",
    "GET /ready": "getReadiness",
    "GET /metrics": "getMetrics",
}
# docs/api.md: every route but these needs a bearer token (the unsubscribe link's routes
# take the signed token in the link instead: docs/digests.md).
NO_TOKEN = {
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "GET /problems/{kind}",
    "GET /notifications/unsubscribe",
    "POST /notifications/unsubscribe",
    "GET /xapi/about",
}
# ... and these take another credential instead, if they list it (an EventSource cannot
# send a header: the stream takes a ticket)
OR_ELSE: dict[str, list[dict[str, list[str]]]] = {
    "GET /struggles/stream": [{"streamTicket": []}],
    # learning tools send LRS credentials (docs/xapi.md); an admin's bearer token also does
    "POST /xapi/statements": [{"statementProducer": []}],
    "PUT /xapi/statements": [{"statementProducer": []}],
}


def operations() -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in current_document()["paths"].items()
        for method, operation in item.items()
    }


def test_every_operation_has_its_listed_operation_id() -> None:
    found = {name: op.get("operationId") for name, op in operations().items()}
    assert found == OPERATION_IDS, "operationIds changed: update both lists on purpose"


def test_operation_ids_are_unique_camel_case() -> None:
    ids = [op["operationId"] for op in operations().values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*([A-Z][a-z0-9]*)*", i) for i in ids), ids


def test_the_code_lists_the_same_ids() -> None:
    assert {f"{m} {p}": i for (m, p), i in CODE_IDS.items()} == OPERATION_IDS


def test_routes_that_need_a_token_declare_the_bearer_scheme_and_no_others() -> None:
    scheme = current_document()["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for name, op in operations().items():
        if name in NO_TOKEN:
            assert "security" not in op and "401" not in op["responses"], name
        else:
            security = op.get("security", [])
            assert {"bearerAuth": []} in security, name
            others = [s for s in security if s != {"bearerAuth": []}]
            assert all(s in OR_ELSE.get(name, []) for s in others), name
            assert "401" in op["responses"], name
    assert NO_TOKEN <= set(operations())
    assert "security" not in current_document()  # no global requirement to override


def test_camel_case_of_a_function_name() -> None:
    assert camel_case("list_class_students") == "listClassStudents"
    assert camel_case("health") == "health"


def test_the_stream_describes_its_frames() -> None:
    ok = current_document()["paths"]["/struggles/stream"]["get"]["responses"]["200"]
    assert set(ok["content"]) == {"text/event-stream"}
    for event, change in EVENTS.values():
        assert f"`{event}`" in ok["description"] and f"`{change}`" in ok["description"]
    for field in ("`id:`", "`event:`", "`data:`", "`Alert`", "Last-Event-ID", "heartbeat"):
        assert field in ok["description"], field
