"""Signing in and out, the landing page, and wiring the pages into the app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.middleware.sessions import SessionMiddleware

from inmail.bootstrap import Runtime
from inmail.services.auth import is_operator_token
from inmail.services.passwords import LoginFailed, check_login
from inmail.services.sign_in_throttle import OPERATOR, Attempt, SignInThrottle
from inmail.store.web import shared_secret
from inmail.web import (
    admin_catalog_pages,
    admin_credit_forms,
    admin_member_forms,
    admin_pages,
    bulk_pages,
    coach_pages,
    community_pages,
    forms,
    inbox_pages,
    member_pages,
    network_pages,
    people_pages,
    reputation_pages,
    settings_pages,
    targeting_pages,
    team_pages,
    template_pages,
    webhook_pages,
)
from inmail.web.common import back, page, runtime_of
from inmail.web.forms import FailedForm, on_failure
from inmail.web.session import CsrfChecked, LoginRequired

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    if isinstance(request.session.get("member_id"), str):
        return RedirectResponse("/inbox", status_code=303)
    if request.session.get("operator") is True:
        return RedirectResponse("/admin", status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The SVG icon, for what asks the conventional path (a CSV download, the API docs page)."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login(request, next)


def _login(request: Request, next: str, failed: FailedForm | None = None) -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next), failed=failed)


def _login_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _login(request, failed.values.get("next", "/"), failed)


@router.post("/login", dependencies=[CsrfChecked])
@on_failure(_login_again)
def login(
    request: Request,
    handle: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    member_id = check_login(
        runtime_of(request).deps,
        handle=handle,
        password=password,
        throttle=_throttle(request),
        address=_address(request),
    )
    csrf = request.session.get("csrf")
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({"member_id": member_id, "csrf": csrf})
    return back(request, _safe_next(next))


@router.post("/login/operator", dependencies=[CsrfChecked])
@on_failure(_login_again)
def operator_login(request: Request, token: Annotated[str, Form(max_length=500)]) -> Response:
    attempt = Attempt(OPERATOR, _address(request))
    _throttle(request).check(attempt)
    if not is_operator_token(token, runtime_of(request).settings.admin_token):
        _throttle(request).failed(attempt)
        raise LoginFailed("That operator token is not valid.")
    csrf = request.session.get("csrf")
    request.session.clear()
    request.session.update({"operator": True, "csrf": csrf})
    return back(request, "/admin")


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    request.session.clear()
    return back(request, "/login", "Signed out.")


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    return throttle


def _address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, run uvicorn with
    --proxy-headers so that this is the member's, not the proxy's)."""
    return request.client.host if request.client else "unknown"


def _safe_next(path: str) -> str:
    """Only same-site paths: never redirect a member to another site after signing in."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if exc.operator and isinstance(request.session.get("member_id"), str):
        # A member on an operator page: the sign-in page would read as if nothing were wrong.
        return page(request, "operators_only.html", status_code=403)
    return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)


def install(app: FastAPI, runtime: Runtime) -> None:
    """Sessions, static files, and every page router."""
    secret = runtime.settings.session_secret or _deployment_secret(runtime)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="inmail_session",
        same_site="lax",
        https_only=runtime.settings.secure_cookies,
        max_age=14 * 24 * 3600,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    settings = runtime.settings
    app.state.sign_in_throttle = SignInThrottle(
        settings.sign_in_throttle_storage,
        settings.sign_in_limit_per_handle,
        settings.sign_in_limit_per_address,
    )
    routers = (
        router,
        inbox_pages.router,
        *(
            m.router
            for m in (
                member_pages,
                people_pages,
                network_pages,
                community_pages,
                admin_member_forms,  # before admin_pages: /admin/members/new is no member id
                admin_credit_forms,
                admin_pages,
            )
        ),
        coach_pages.router,
        template_pages.router,
        targeting_pages.router,
        bulk_pages.router,
        settings_pages.router,
        admin_catalog_pages.router,
        webhook_pages.router,
        team_pages.operator,
        team_pages.router,
        reputation_pages.router,
        reputation_pages.admin_router,
    )
    for pages in routers:
        app.include_router(pages)
    forms.install(
        app, {route.endpoint for r in routers for route in r.routes if isinstance(route, APIRoute)}
    )


def _deployment_secret(runtime: Runtime) -> str:
    try:
        with runtime.deps.db.write() as conn:
            return shared_secret(conn, "session")
    except DBAPIError as error:
        raise RuntimeError(
            f"the database at {runtime.settings.database_url} is not ready: "
            "run `inmail db upgrade` first"
        ) from error
