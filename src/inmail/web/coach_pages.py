"""The message coach in the web app: tips on the compose page's draft (SPEC §8).

Two posts of the compose form's fields, both under its CSRF check, neither writing
anything: ``/compose/coach/tips`` answers the tips alone (an HTML fragment, what
static/coach.js puts in the panel as the member types), and ``/compose/coach`` (the
"Check message" button, without JavaScript) answers the compose page again with the
draft kept and the tips shown. A refusal (text a send would refuse too, an unknown
member) answers the API's status: the fragment with the message, or the compose page.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from inmail.domain.errors import StaleForm
from inmail.web.coach_panel import draft_tips, panel
from inmail.web.common import Id, runtime_of, templates
from inmail.web.forms import FailedForm, OnceKey, ShownAgain, on_failure
from inmail.web.member_pages import _compose
from inmail.web.session import CsrfChecked, WebMember, signed_in_member

router = APIRouter(include_in_schema=False)

Body = Annotated[str, Form(max_length=5000)]
Subject = Annotated[str, Form(max_length=1000)]
Cost = Annotated[int | None, Form(ge=0)]  # the credits the page showed; 0: it sends for free


def _tips_refused(request: Request, failed: FailedForm) -> HTMLResponse:
    if failed.code == StaleForm.code:
        # A stale form: no tips fragment, so the script keeps the last tips and says they
        # may be out of date (static/coach.js); the page's own send shows the form again.
        return HTMLResponse("<p>This form has expired: reload the page.</p>", status_code=403)
    return templates.TemplateResponse(
        request, "_coach_tips.html", panel([], written=True, error=failed.message)
    )


@router.post("/compose/coach/tips", dependencies=[CsrfChecked], response_class=HTMLResponse)
@on_failure(_tips_refused)
def coach_tips(
    request: Request,
    member_id: WebMember,
    to: Id,
    body: Body = "",
    subject: Subject = "",
    cost: Cost = None,
) -> HTMLResponse:
    """The tips on the draft, as the fragment that static/coach.js shows."""
    tips = draft_tips(runtime_of(request), member_id, to, subject, body, sends_free=cost == 0)
    written = bool(subject.strip() or body.strip())
    return templates.TemplateResponse(request, "_coach_tips.html", panel(tips, written))


def _check_again(request: Request, failed: FailedForm) -> HTMLResponse:
    """A refused check: the compose page, the draft kept and the refusal next to the form."""
    member_id = signed_in_member(request)
    at_compose = dataclasses.replace(failed, action="/compose")
    return _compose(request, member_id, "", failed.values.get("to", ""), at_compose)


@router.post("/compose/coach", dependencies=[CsrfChecked], response_class=HTMLResponse)
@on_failure(_check_again)
def check_message(
    request: Request,
    member_id: WebMember,
    to: Id,
    body: Body = "",
    subject: Subject = "",
    cost: Cost = None,
    once: OnceKey = None,
) -> HTMLResponse:
    """ "Check message" without JavaScript: the compose page again, with the tips.

    The page keeps its one-time key, so the draft sent from here is the same send.
    """
    tips = draft_tips(runtime_of(request), member_id, to, subject, body, sends_free=cost == 0)
    typed = ShownAgain("/compose", {"subject": subject, "body": body})
    return _compose(request, member_id, "", to, page_key=once, again=typed, tips=tips)
