"""The front end's composition root: the public routes, the console, the xAPI
statements resource and their middleware (``install``), and what they need at run time:
the rules in force, teachers' digests, the statement intake, periodic jobs (``start``)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from fastapi import FastAPI

from service.frontend.console.app import install_console
from service.frontend.digests.scheduler import Digests
from service.frontend.digests.store import DigestStore
from service.frontend.routes import classes, digests, ops, progress, rules, struggles, students
from service.frontend.xapi import routes as xapi_routes
from service.frontend.xapi.http_headers import XapiHeaders
from service.frontend.xapi.mapping import Mapping, load_mapping
from service.frontend.xapi.producers import Producers
from service.frontend.xapi.statements import StatementIntake
from service.middleware import BodyLimitMiddleware
from service.periodic import every
from service.resources import Resources
from service.rulesets.live import RULES_REFRESH, LiveRules, RulesInForce
from service.rulesets.notify import AppliedRulesListener
from service.schemas import API_ERRORS
from service.settings import Settings

DRY_RUN_PRUNE_PERIOD = timedelta(hours=1)


def install(app: FastAPI, settings: Settings) -> Mapping:
    """The public routers, the console, and the front end's own middleware (the body
    limit, the xAPI headers). Returns the xAPI mapping, read now: a wrong file stops the
    start."""
    mapping = load_mapping(settings.xapi_mapping_file)
    install_console(app, settings)  # sets the session hook and the console's error pages
    for module in (progress, struggles, classes, rules, students, ops, digests):
        app.include_router(module.router, responses=API_ERRORS)
    app.include_router(xapi_routes.router, responses=API_ERRORS)
    app.include_router(xapi_routes.public_router)
    app.include_router(digests.public_router)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_bytes,
        larger={
            "/rosters/oneroster": settings.max_roster_bundle_bytes,
            "/xapi/statements": settings.xapi_max_body_bytes,
        },
    )
    app.add_middleware(XapiHeaders)  # outside the body limit: its 413 gets them too
    return mapping


async def start(
    app: FastAPI, resources: Resources, mapping: Mapping, stack: AsyncExitStack
) -> None:
    settings = resources.settings
    live_rules: LiveRules | None = getattr(app.state, "live_rules", None)
    if live_rules is None:  # no actor host in this process: keep its own
        live_rules = LiveRules(
            resources.rule_sets, resources.config, RulesInForce(resources.config)
        )
        await live_rules.refresh_once()
        app.state.live_rules = live_rules
        refreshing = asyncio.create_task(every(RULES_REFRESH, live_rules.refresh_once))
        listening = asyncio.create_task(
            AppliedRulesListener(settings.database_url, live_rules.refresh_once).run()
        )
        stack.callback(listening.cancel)
        stack.callback(refreshing.cancel)
    webhooks = httpx.AsyncClient(timeout=settings.digest_send_timeout_s)
    stack.push_async_callback(webhooks.aclose)
    teacher_digests = Digests(
        DigestStore(resources.engine), settings, resources.config.inactivity_after, webhooks
    )
    app.state.digests = teacher_digests
    app.state.xapi_producers = Producers(resources.write_pool)
    app.state.xapi_intake = StatementIntake(
        resources.write_pool,
        resources.sidecar,
        mapping,
        {
            "learning": settings.learning_topic,
            "exercise": settings.exercise_topic,
            "code": settings.code_topic,
        },
    )
    for job in (
        every(DRY_RUN_PRUNE_PERIOD, resources.dry_runs.prune_once),
        every(timedelta(seconds=settings.digest_tick_s), teacher_digests.tick_once),
    ):
        task = asyncio.create_task(job)
        stack.callback(task.cancel)
