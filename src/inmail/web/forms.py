"""Web forms: a one-time key against double submits, and one answer to every refusal.

**One-time keys.** Every form that charges or creates renders a random hidden
``once`` field; its handler passes it to the service as ``idempotency_key``, so a
second submit of the same rendered form (a double click, or Back and submit
again) answers the first result and charges nothing: the server guarantees it,
the disabled button in app.js is a courtesy.

**Refusals.** A form handler never catches errors. Whatever it raises (a
service's refusal, a field the form parser refuses, a value the database cannot
store, a busy database) goes to the API's own handler, which decides the status
and the words from the one error table; then, for a form registered with
:func:`on_failure`, the page the form is on is rendered again with that status,
the member's input kept and the message next to the form. Any other page
answers the error page. Browsers and scripts alike get HTML, never problem+json.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from inmail.api.errors import STATUS_BY_CODE
from inmail.domain.errors import DomainError
from inmail.web.common import page, templates
from inmail.web.session import LoginRequired

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Request, Exception], Any]

OnceKey = Annotated[str | None, Form(max_length=200)]
"""The form's one-time key (hidden field ``once``); None from a form rendered without one."""

# Never written back into a page: secrets, and the keys that must be new on every render.
_NOT_KEPT = frozenset({"csrf", "once", "password", "password_again", "token"})
# The API's words for a reused key speak of headers; a member sees a form.
_WEB_WORDS = {
    "idempotency-key-reused": (
        "This form was already sent, with other content. Nothing more was sent: "
        "check the result, or send again to send this as well."
    ),
    "inmail-already-awaiting-response": (
        "Your InMail to this member is still awaiting a response: this one was not sent and "
        "nothing was charged. Write again by a follow-up in that conversation."
    ),
}


_NO_FORM = frozenset({500, 501, 502, 504})  # 503 (busy) re-renders: sending again may work


def one_time_key() -> str:
    """A fresh key for one rendered form (128 random bits)."""
    return secrets.token_urlsafe(16)


PageKey = Annotated[str, Query(max_length=200)]
"""A page's one-time key, in its URL: see :func:`keyed_page`."""


def keyed_page(request: Request, once: str) -> RedirectResponse | None:
    """Give a page whose one form charges or creates its one-time key in its URL.

    A page opened without ``once`` is redirected to itself with a fresh one. Its
    form then carries that key, so the page fetched again by Back or a reload
    (browsers may or may not keep it) renders the same key, and sending it again
    still answers the first result. Opening the page anew from a link is a new key.
    """
    if once:
        return None
    url = request.url.include_query_params(once=one_time_key())
    return RedirectResponse(f"{url.path}?{url.query}", status_code=303)


@dataclasses.dataclass(frozen=True)
class FailedForm:
    """A refused form: where it posted, why, and what the member had typed."""

    action: str
    message: str
    field: str | None = None
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)
    orphan: bool = False  # its form is not on the page (e.g. an item gone): shown on top
    code: str = ""  # the API's error code (e.g. "stale-form"), "" when it had none


Renderer = Callable[[Request, FailedForm], HTMLResponse]
_renderers: dict[Callable[..., Any], Renderer] = {}


def on_failure(render: Renderer) -> Callable[[F], F]:
    """Mark a form handler: when it fails, ``render`` shows the form's page again."""

    def mark(handler: F) -> F:
        _renderers[handler] = render
        return handler

    return mark


@dataclasses.dataclass(frozen=True)
class ShownAgain:
    """A form shown again with the member's input, not refused (e.g. a draft checked by the
    coach before it is sent): its page passes it to the template as ``again``."""

    action: str
    values: Mapping[str, str]


@pass_context
def kept(context: Context, action: str, name: str, default: object = "") -> object:
    """In a template: the member's input for ``name`` if the form at ``action`` was refused
    (or shown again)."""
    for form in (context.get("failed"), context.get("again")):
        if isinstance(form, FailedForm | ShownAgain) and form.action == action:
            return form.values.get(name, default)
    return default


templates.env.globals.update(one_time_key=one_time_key, kept=kept)


def install(app: FastAPI, endpoints: set[Callable[..., Any]]) -> None:
    """Answer errors raised on the web's own routes (``endpoints``) with pages.

    Wraps the handlers the API installed, so the status and the words stay the API's.
    """
    for error in (
        DomainError,
        RequestValidationError,
        DataError,
        OperationalError,
        StarletteHTTPException,
    ):
        app.exception_handlers[error] = _on_page(app.exception_handlers[error], endpoints)
    app.exception_handlers[Exception] = _crash_on_page(app.exception_handlers[Exception], endpoints)


def _endpoint(request: Request) -> Callable[..., Any] | None:
    route = request.scope.get("route")
    found: Callable[..., Any] | None = getattr(route, "endpoint", None)
    return found


def _on_page(api_handler: Handler, endpoints: set[Callable[..., Any]]) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        answer: Response = await api_handler(request, exc)
        endpoint = _endpoint(request)
        if endpoint not in endpoints:
            return answer
        status, failed = _failed(request, answer)
        render = _renderers.get(endpoint)
        # A refused CSRF check is not the member's input: it is never written back.
        if render is None or isinstance(exc, StarletteHTTPException) or status in _NO_FORM:
            return _error_page(request, status, failed.message)
        failed = dataclasses.replace(failed, values=await _typed(request))
        try:
            shown = await run_in_threadpool(render, request, failed)
        except (DomainError, LoginRequired):
            # The page itself is gone (e.g. an unknown thread), or a stale form's session
            # is no longer signed in: say why.
            return _error_page(request, status, failed.message)
        if f'method="post" action="{failed.action}"'.encode() not in bytes(shown.body):
            orphan = dataclasses.replace(failed, orphan=True)
            shown = await run_in_threadpool(render, request, orphan)
        shown.status_code = status
        if "retry-after" in answer.headers:  # e.g. too many failed sign-ins
            shown.headers["Retry-After"] = answer.headers["retry-after"]
        return shown

    return handle


def _crash_on_page(api_handler: Handler, endpoints: set[Callable[..., Any]]) -> Handler:
    # Called outside the route (the body is no longer readable): the error page, no input.
    async def handle(request: Request, exc: Exception) -> Response:
        answer: Response = await api_handler(request, exc)
        if _endpoint(request) not in endpoints:
            return answer
        return _error_page(request, answer.status_code, "Something went wrong on our side.")

    return handle


def _failed(request: Request, answer: Response) -> tuple[int, FailedForm]:
    """The API answer's status, and its words for the member."""
    try:
        problem = json.loads(bytes(answer.body))
    except ValueError:
        problem = {}
    code = problem.get("code", "")
    message = _WEB_WORDS.get(code) or problem.get("detail") or "That did not work."
    failed = FailedForm(request.url.path, message, problem.get("field"), code=code)
    return answer.status_code, failed


async def _typed(request: Request) -> dict[str, str]:
    """What the member typed into the form (the form the handler already parsed)."""
    try:
        form = await request.form()
    except Exception:  # a body the parser refused: nothing to keep
        return {}
    return {
        name: value
        for name, value in form.multi_items()
        if isinstance(value, str) and name not in _NOT_KEPT
    }


def refused_on(shown: HTMLResponse, error: DomainError) -> HTMLResponse:
    """A page shown because of a refusal answers the refusal's status (the API's table)."""
    shown.status_code = STATUS_BY_CODE.get(error.code, 422)
    return shown


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return page(request, "error.html", status_code=status, message=message)
