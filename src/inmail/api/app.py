"""The application factory: ``create_app(settings)`` wires everything once."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp

from inmail import __version__
from inmail.api import (
    docs,
    errors,
    openapi,
    routes_adjustments,
    routes_admin,
    routes_bulk,
    routes_coach,
    routes_inbox,
    routes_me,
    routes_messaging,
    routes_network,
    routes_ops,
    routes_reputation,
    routes_search,
    routes_sequences,
    routes_social,
    routes_targeting,
    routes_teams,
    routes_templates,
    routes_webhooks,
)
from inmail.api.body_limit import BodyLimit
from inmail.api.methods import Methods
from inmail.api.observe import Observe
from inmail.api.security import SecurityHeaders
from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.observe import metrics
from inmail.observe.scrape import scrape_registry
from inmail.web import pages


class InmailApp(FastAPI):
    """FastAPI with the security headers outside everything, even the 500 handler, and the
    request id, metrics and access log (api/observe.py) outside them."""

    def build_middleware_stack(self) -> ASGIApp:
        return Observe(SecurityHeaders(super().build_middleware_stack()))


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    rt = runtime or build(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        metrics.watch_pool(rt.deps.db.engine)
        # Sync routes and dependencies run in anyio's default thread pool (40 threads):
        # sized to what the database can use at once (config.Settings.threads).
        to_thread.current_default_thread_limiter().total_tokens = rt.settings.request_threads
        yield
        metrics.unwatch_pool(rt.deps.db.engine)
        rt.close()

    app = InmailApp(
        title="inmail", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.runtime = rt
    app.state.scrape_registry = scrape_registry(rt.deps, rt.clock.now)
    errors.install(app)
    docs.install(app)
    openapi.install(app)
    # Added last runs first: methods are answered, then bodies limited, before any route.
    app.add_middleware(BodyLimit, limit=rt.settings.max_body_bytes)
    app.add_middleware(Methods)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # The busiest endpoints' routers first: FastAPI tries each included router's routes in
    # turn, so a request pays for every route ahead of its own (docs/rules.md, issue 13).
    # tests/api/test_route_order.py checks that no path is answered by another route.
    app.include_router(routes_messaging.router)
    app.include_router(routes_me.router)
    app.include_router(routes_ops.router)
    if rt.settings.metrics_port is None:  # else `inmail serve` serves them on that port
        app.include_router(routes_ops.metrics_router)
    app.include_router(routes_admin.router)
    app.include_router(routes_adjustments.router)
    app.include_router(routes_coach.router)
    app.include_router(routes_inbox.router)
    app.include_router(routes_network.router)
    app.include_router(routes_search.router)
    app.include_router(routes_social.router)
    app.include_router(routes_bulk.router)
    app.include_router(routes_templates.router)
    app.include_router(routes_sequences.router)
    app.include_router(routes_targeting.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_teams.operator)
    app.include_router(routes_teams.router)
    app.include_router(routes_reputation.router)
    app.include_router(routes_reputation.admin_router)
    pages.install(app, rt)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``inmail serve`` (uvicorn imports it in every worker process).

    Everything built so far (the modules, the routes, the app: about 200,000 objects)
    lives as long as the process, so it is moved out of the garbage collector's reach
    (``gc.freeze``). Otherwise every full collection walks it again while all requests
    wait: measured under 32 connections, one pause of about 100 ms mid-run, 5 ms after.
    Only the served process does this: tests build many apps in one process and must
    get them back (tests/api/test_app_freed.py).
    """
    app = create_app(Settings())
    gc.freeze()
    return app
