"""One name per threshold (issue 21, defect 8): an alert's ``rule.thresholds`` names each
threshold as rule sets and the settings do (``quiz_low_below``, not ``low_below``).
Renames the keys in the alerts already stored and in the alerts listed by stored dry-run
reports; the downgrade renames them back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# former name -> name since this revision (a copy: a migration does not change with the
# code; actors/effects.py FORMER_THRESHOLD_NAMES holds the same)
RENAMED = {
    "phrases": "help_phrases",
    "low_below": "quiz_low_below",
    "high_below": "quiz_high_below",
    "consecutive_failures": "consecutive_failure_count",
    "same_error_count": "repeated_error_count",
    "minutes_without_pass": "stuck_minutes",
    "inactive_days": "inactivity_days",
    "share": "misconception_share",
    "min_students": "misconception_min_students",
    "window_hours": "misconception_window_hours",
}


def _rename(names: dict[str, str]) -> None:
    mapping = json.dumps(names).replace("'", "''")
    old = ", ".join("'" + name + "'" for name in names)
    # session-local helpers: gone when the migration's connection closes
    op.execute(
        f"""
        CREATE FUNCTION pg_temp.renamed(thresholds jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE AS $$
            SELECT coalesce(
                jsonb_object_agg(coalesce('{mapping}'::jsonb ->> key, key), value), '{{}}'
            )
            FROM jsonb_each(thresholds)
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION pg_temp.renamed_listed(alerts jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE AS $$
            SELECT coalesce(jsonb_agg(
                CASE WHEN jsonb_typeof(a -> 'thresholds') = 'object'
                     THEN jsonb_set(a, '{thresholds}', pg_temp.renamed(a -> 'thresholds'))
                     ELSE a END
                ORDER BY i), '[]')
            FROM jsonb_array_elements(alerts) WITH ORDINALITY AS listed(a, i)
        $$
        """
    )
    op.execute(
        "UPDATE struggle_alerts "
        "SET rule = jsonb_set(rule, '{thresholds}', pg_temp.renamed(rule -> 'thresholds')) "
        "WHERE jsonb_typeof(rule -> 'thresholds') = 'object' "
        f"AND (rule -> 'thresholds') ?| ARRAY[{old}]"
    )
    op.execute(
        "UPDATE dry_runs SET report = report || jsonb_build_object("
        "'added', pg_temp.renamed_listed(report -> 'added'), "
        "'removed', pg_temp.renamed_listed(report -> 'removed')) "
        "WHERE jsonb_typeof(report -> 'added') = 'array' "
        "AND jsonb_typeof(report -> 'removed') = 'array'"
    )
    op.execute("DROP FUNCTION pg_temp.renamed_listed(jsonb)")
    op.execute("DROP FUNCTION pg_temp.renamed(jsonb)")


def upgrade() -> None:
    _rename(RENAMED)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMED.items()})
