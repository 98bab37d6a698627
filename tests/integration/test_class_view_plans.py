"""The teachers' views at the scale issue 12 sets (tests/integration/school_data.py:
100,000 students in 2,500 classes, 1,000,000 history rows, 1,000,000 alerts), inserted in
a transaction that is rolled back: each statement of a view reads its tables through an
index, never by a sequential scan. The plans' execution times are recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from service.readmodel.table import OVERALL
from service.readmodel.views import (
    HISTORY_SQL,
    TOPIC_SCORES_SQL,
    TOPICS_SQL,
    students_sql,
)
from service.rosters.scope import Scope, class_reach, student_reach
from tests.integration.school_data import populate

BIG_TABLES = {
    "class_students",
    "student_summary",
    "student_progress",
    "progress_history",
    "struggle_alerts",
}


def scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(plan["Node Type"], plan.get("Relation Name", ""))]
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


class _Rollback(Exception):
    pass


async def test_class_views_use_indexes_at_school_scale(
    pg: asyncpg.Connection, record_property: Any
) -> None:
    today = datetime.now(UTC).date()
    teacher = Scope(teacher_id="st-1234")
    class_check, student_check = class_reach(teacher, "sc-1234"), student_reach(teacher, "ss-49370")
    assert not isinstance(class_check, bool) and not isinstance(student_check, bool)
    views: dict[str, tuple[str, tuple[Any, ...]]] = {
        "class_reach": class_check,
        "student_reach": student_check,
        "students_by_risk": (
            students_sql("risk", after=False),
            ("sc-1234", OVERALL, today - timedelta(days=7), 51),
        ),
        "students_by_risk_after": (
            students_sql("risk", after=True),
            # a position before the first row (more high alerts than anyone has), so the
            # page is the class's first 51 whatever the random data holds
            ("sc-1234", OVERALL, today - timedelta(days=7), 51, 10**6, 0, None, None, ""),
        ),
        "topic_scores": (TOPIC_SCORES_SQL, ([f"ss-{i}" for i in range(49360, 49400)],)),
        "topics": (TOPICS_SQL, ("sc-1234",)),
        "history": (HISTORY_SQL, ("ss-4242", today - timedelta(days=30), today, None)),
    }
    with pytest.raises(_Rollback):  # nothing of the school stays
        async with pg.transaction():
            await populate(pg)
            for name, (query, args) in views.items():
                [plan] = json.loads(
                    await pg.fetchval(f"explain (analyze, format json) {query}", *args)
                )
                record_property(f"{name}_ms", plan["Execution Time"])
                seq = [
                    r for kind, r in scans(plan["Plan"]) if kind == "Seq Scan" and r in BIG_TABLES
                ]
                assert not seq, f"{name} scans {seq} sequentially: {json.dumps(plan)}"
                rows = await pg.fetch(query, *args)
                assert rows, f"{name} found nothing"
            raise _Rollback
