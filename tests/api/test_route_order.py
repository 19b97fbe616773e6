"""The busiest endpoints' routers are included first (api/app.py, issue 13): FastAPI tries
the routes in turn, so a request pays for every route ahead of its own. Moving routers must
not change which route answers a path: no route may match another route's own paths
before it (with a method in common)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match

from tests.api.conftest import Api


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route in the order the app tries them (included routers flattened)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            found += _api_routes(list(route.original_router.routes))
    return found


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}


def test_no_route_is_answered_by_one_ahead_of_it(api: Api) -> None:
    routes = _api_routes(list(api.client.app.router.routes))  # type: ignore[attr-defined]
    paths = {r.path for r in routes}
    assert {"/v1/inmails", "/v1/me/credits"} <= paths
    for i, route in enumerate(routes):
        assert route.methods is not None, route.path  # FastAPI gives every route its methods
        for method in route.methods:
            scope = _scope(_sample(route.path), method)
            ahead = [r for r in routes[:i] if r.matches(scope)[0] == Match.FULL]
            assert not ahead, f"{method} {route.path} is answered by {ahead[0].path}"


def test_the_busiest_routes_come_first(api: Api) -> None:
    routes = _api_routes(list(api.client.app.router.routes))  # type: ignore[attr-defined]
    paths = [r.path for r in routes]
    assert paths.index("/v1/inmails") < 10  # the docs' and health routes come before it
    assert paths.index("/v1/me/credits") < 40
