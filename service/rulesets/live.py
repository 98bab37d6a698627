"""The rule set in force in this process: the newest applied version, read at start and
again every RULES_REFRESH (the roles' composition roots), so an apply on another replica
reaches this one within it, and at once in the process that applied it. In the actor
host the actors read it from their ActorDeps; a front end alone keeps it in a
RulesInForce (its dry runs and rule set pages compare against it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import structlog

from actors.config import DomainConfig
from service.rulesets.model import to_config
from service.rulesets.repository import RuleSetRepository

log = structlog.get_logger("rules")
# how soon an apply another process made holds here when its NOTIFY was missed
RULES_REFRESH = timedelta(seconds=10)


class HoldsConfig(Protocol):
    config: DomainConfig


@dataclass
class RulesInForce:
    """Where a process that hosts no actors keeps the configuration in force."""

    config: DomainConfig


class LiveRules:
    def __init__(
        self, repository: RuleSetRepository, base: DomainConfig, deps: HoldsConfig
    ) -> None:
        self._repository = repository
        self.base = base  # the settings' configuration: version 0
        self._deps = deps

    @property
    def current(self) -> DomainConfig:
        return self._deps.config

    async def refresh(self) -> None:
        found = await self._repository.active()
        version = found[0] if found else 0
        if version == self._deps.config.rules_version:
            return
        self._deps.config = to_config(self.base, found[1], version) if found else self.base
        log.info("rule_set_in_force", version=version)

    async def refresh_once(self) -> None:
        """:meth:`refresh`, keeping the rules in force when the database is away (at
        start: the settings' until the next refresh reaches it)."""
        try:
            await self.refresh()
        except Exception as exc:  # logged; the next refresh tries again
            log.warning("rule_set_refresh_failed", error=repr(exc))
