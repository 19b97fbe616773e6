"""What every page shares: templates, the signed-in member, and the render helper."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from inmail.bootstrap import Runtime
from inmail.domain.errors import DomainError
from inmail.services.chrome import page_chrome
from inmail.services.context import Deps
from inmail.services.members import members_by_id
from inmail.store.members import MemberRecord
from inmail.web.dates import FILTERS
from inmail.web.look import initials, swatch
from inmail.web.session import csrf_token, flash, take_flashes

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["initials"] = initials
templates.env.filters["swatch"] = swatch
# Dates with the year, never a timestamp, in the member's zone (web.dates):
# {{ at | day }}, {{ at | weekday }}, {{ at | moment }}, {{ at | day_and_time }}.
templates.env.filters.update(FILTERS)

# Form text defaults to "" so that the services, not the form parser, say what is wrong.
Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=400)]
Id = Annotated[str, Form(max_length=40)]


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    rt = runtime_of(request)
    member_id = request.session.get("member_id")
    chrome = None
    if isinstance(member_id, str):
        try:
            chrome = page_chrome(rt.deps, member_id=member_id, now=rt.clock.now())
        except DomainError:
            request.session.clear()
    base = {
        "me": chrome.member if chrome else None,
        "unread": {"/inbox": chrome.unread_threads, "/notifications": chrome.unread_notices}
        if chrome
        else {},
        # Every date on the page is shown in it (web.dates); None: UTC.
        "time_zone": chrome.time_zone if chrome else None,
        # The sender's standing banner (warned, bulk sending off, suspended).
        "standing": chrome.banner if chrome else None,
        "operator": request.session.get("operator") is True,
        "csrf": csrf_token(request),
        "flashes": take_flashes(request),
        "failed": None,  # a refused form's FailedForm (see web.forms), shown next to it
        "page_key": None,  # the one-time key a page carries in its URL (web.forms.keyed_page)
    }
    return templates.TemplateResponse(request, template, base | context, status_code=status_code)


def back(
    request: Request, path: str, text: str | None = None, kind: str = "ok"
) -> RedirectResponse:
    """Post/redirect/get: the message shows on the page redirected to."""
    if text:
        flash(request, text, kind)
    return RedirectResponse(path, status_code=303)


def people_by_id(deps: Deps, ids: Iterable[str], now: datetime) -> dict[str, MemberRecord]:
    """Members by id, for showing names; ids that no longer exist are left out."""
    return members_by_id(deps, ids, now=now)


def not_found(request: Request, error: DomainError) -> HTMLResponse:
    return page(request, "error.html", status_code=404, message=error.message)
