"""The rule_sets table (migration 0009): versions created, applied, read."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.errors import NotFound
from service.rulesets.model import RuleSetIn

APPLIED_CHANNEL = "rule_sets_applied"  # service/rulesets/notify.py listens

# pg_advisory_xact_lock key for "a rule set version is being numbered"
_VERSION_LOCK = 0x52554C4553


class RuleSetNotFound(NotFound):
    def __init__(self, version: int) -> None:
        super().__init__(f"no rule set version {version}")


def _out(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    rules = found.pop("rules")
    return {**found, **(json.loads(rules) if isinstance(rules, str) else rules)}


def stored_rules(stored: dict[str, Any]) -> RuleSetIn:
    """A stored version's rules, validated as today's (``ValidationError``: stored under
    looser bounds)."""
    names = ("thresholds", "topics", "knowledge_tracing", "note")
    return RuleSetIn.model_validate({k: stored[k] for k in names if k in stored})


class RuleSetRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, rules: RuleSetIn, who: str) -> dict[str, Any]:
        """A new version (the next number), not applied."""
        body = rules.stored()
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _VERSION_LOCK})
            row = (
                await conn.execute(
                    text(
                        "INSERT INTO rule_sets (version, rules, note, created_by) "
                        "SELECT coalesce(max(version), 0) + 1, CAST(:rules AS jsonb), :note, "
                        ":who FROM rule_sets RETURNING *"
                    ),
                    {"rules": json.dumps(body), "note": rules.note, "who": who},
                )
            ).one()
        return _out(row)

    async def get(self, version: int) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM rule_sets WHERE version = :v"), {"v": version}
                )
            ).first()
        if row is None:
            raise RuleSetNotFound(version)
        return _out(row)

    async def listed(self) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(text("SELECT * FROM rule_sets ORDER BY version DESC"))
            return [_out(r) for r in rows]

    async def apply(self, version: int, who: str) -> dict[str, Any]:
        """Make ``version`` the one that holds from now (the newest applied holds, so
        applying an older version again is a rollback to it)."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "UPDATE rule_sets SET applied_at = now(), applied_by = :who "
                        "WHERE version = :v RETURNING *"
                    ),
                    {"v": version, "who": who},
                )
            ).first()
            if row is not None:  # delivered at commit to every listening process
                await conn.execute(
                    text("SELECT pg_notify(:channel, :v)"),
                    {"channel": APPLIED_CHANNEL, "v": str(version)},
                )
        if row is None:
            raise RuleSetNotFound(version)
        return _out(row)

    async def active(self) -> tuple[int, RuleSetIn] | None:
        """The newest applied version and its rules (None: the settings hold)."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT version, rules, note FROM rule_sets "
                        "WHERE applied_at IS NOT NULL ORDER BY applied_at DESC LIMIT 1"
                    )
                )
            ).first()
        if row is None:
            return None
        return row.version, RuleSetIn.model_validate({**row.rules, "note": row.note})
