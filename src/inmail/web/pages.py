"""Signing in and out, the landing page, and wiring the pages into the app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.middleware.sessions import SessionMiddleware

from inmail.bootstrap import Runtime
from inmail.domain.errors import DomainError
from inmail.services.auth import is_operator_token
from inmail.services.passwords import check_login
from inmail.store.web import shared_secret
from inmail.web import admin_pages, community_pages, member_pages, network_pages
from inmail.web.common import back, page, runtime_of
from inmail.web.session import CsrfChecked, LoginRequired

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    if isinstance(request.session.get("member_id"), str):
        return RedirectResponse("/inbox", status_code=303)
    if request.session.get("operator") is True:
        return RedirectResponse("/admin", status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next))


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    handle: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    try:
        member_id = check_login(runtime_of(request).deps, handle=handle, password=password)
    except DomainError as error:
        return back(request, f"/login?next={_safe_next(next)}", error.message, "error")
    csrf = request.session.get("csrf")
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({"member_id": member_id, "csrf": csrf})
    return back(request, _safe_next(next))


@router.post("/login/operator", dependencies=[CsrfChecked])
def operator_login(request: Request, token: Annotated[str, Form(max_length=500)]) -> Response:
    if not is_operator_token(token, runtime_of(request).settings.admin_token):
        return back(request, "/login", "That operator token is not valid.", "error")
    csrf = request.session.get("csrf")
    request.session.clear()
    request.session.update({"operator": True, "csrf": csrf})
    return back(request, "/admin")


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    request.session.clear()
    return back(request, "/login", "Signed out.")


def _safe_next(path: str) -> str:
    """Only same-site paths: never redirect a member to another site after signing in."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
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
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    routers = (member_pages, network_pages, community_pages, admin_pages)
    for pages in (router, *(module.router for module in routers)):
        app.include_router(pages)


def _deployment_secret(runtime: Runtime) -> str:
    try:
        with runtime.deps.db.write() as conn:
            return shared_secret(conn, "session")
    except DBAPIError as error:
        raise RuntimeError(
            f"the database at {runtime.settings.database_url} is not ready: "
            "run `inmail db upgrade` first"
        ) from error
