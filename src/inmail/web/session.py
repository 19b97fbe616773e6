"""Signed-cookie sessions, CSRF tokens and flash messages for the pages."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request

from inmail.bootstrap import Runtime
from inmail.domain.errors import StaleForm
from inmail.services.sequences import run_due_on_request


class LoginRequired(Exception):
    """The page needs a signed-in member (or the operator); the handler redirects to sign-in."""

    def __init__(self, next_path: str, operator: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.operator = operator


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_matches(request: Request, sent: str) -> bool:
    """The session's CSRF token is ``sent`` (False without a session token)."""
    expected = request.session.get("csrf")
    return isinstance(expected, str) and hmac.compare_digest(sent, expected)


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """Every form posts the session's CSRF token; a missing or wrong one is refused.

    A wrong one is mostly a form opened in an earlier session (before signing out and
    in again): StaleForm shows the form again with what was typed (web.forms).
    """
    if not csrf_matches(request, csrf):
        raise StaleForm(
            "This form was opened before you last signed in, so nothing was done. "
            "What you typed is below: check it and send it again."
        )


CsrfChecked = Depends(check_csrf)


def signed_in_member(request: Request) -> str:
    member_id = request.session.get("member_id")
    if not isinstance(member_id, str):
        raise LoginRequired(request.url.path)
    return member_id


def member_on_request(request: Request) -> str:
    """The signed-in member, whose scheduled follow-ups due by now are run first (as the
    API's ``current_member`` does): they go out without a worker."""
    member_id = signed_in_member(request)
    rt: Runtime = request.app.state.runtime
    run_due_on_request(rt.deps, member_id, rt.clock.now())
    return member_id


def signed_in_operator(request: Request) -> None:
    if request.session.get("operator") is not True:
        raise LoginRequired(request.url.path, operator=True)


WebMember = Annotated[str, Depends(member_on_request)]
WebOperator = Depends(signed_in_operator)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message shown once, on the next page (after a redirect)."""
    request.session.setdefault("flash", []).append({"text": text, "kind": kind})


def take_flashes(request: Request) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = request.session.pop("flash", [])
    return found


@dataclass(frozen=True)
class PageContext:
    request: Request
    runtime: Runtime

    @property
    def member_id(self) -> str | None:
        value = self.request.session.get("member_id")
        return value if isinstance(value, str) else None
