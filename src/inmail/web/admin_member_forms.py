"""Operator forms that let members in: create a member, and issue a member's invitation
(password-set) link. The link is shown once, on the page the form answers with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from inmail.services import catalog, invitation_links, members
from inmail.services.invitation_links import IssuedLink
from inmail.web.admin_pages import member_page_again
from inmail.web.common import Short, Text, page, runtime_of
from inmail.web.forms import FailedForm, OnceKey, on_failure
from inmail.web.session import CsrfChecked, WebOperator

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])


@router.get("/members/new", response_class=HTMLResponse)
def new_member_page(request: Request) -> HTMLResponse:
    return _new_member(request)


def _new_member(request: Request, failed: FailedForm | None = None) -> HTMLResponse:
    plans = catalog.list_plans(runtime_of(request).deps)
    return page(request, "admin_member_new.html", plans=plans, failed=failed)


@router.post("/members/new", dependencies=[CsrfChecked])
@on_failure(_new_member)
def create_member(
    request: Request,
    handle: Annotated[str, Form(max_length=64)] = "",
    name: Short = "",
    headline: Short = "",
    company: Short = "",
    school: Short = "",
    interests: Text = "",
    plan: Annotated[str, Form(max_length=64)] = "basic",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    created = members.create_member(
        rt.deps,
        handle=handle.strip().lstrip("@").lower(),
        name=name,
        headline=headline.strip(),
        company=company.strip(),
        school=school.strip(),
        interests=[
            i.strip() for line in interests.splitlines() for i in line.split(",") if i.strip()
        ],
        plan=plan,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return _issued(request, created.id, created=True)


@router.post("/members/{member_id}/invitation", dependencies=[CsrfChecked])
@on_failure(member_page_again)
def issue_invitation_link(request: Request, member_id: str) -> Response:
    return _issued(request, member_id, created=False)


def _issued(request: Request, member_id: str, *, created: bool) -> HTMLResponse:
    """Issue the member's link and show it (once: only its hash is kept)."""
    rt = runtime_of(request)
    link = invitation_links.issue_link(
        rt.deps, member_id=member_id, now=rt.clock.now(), days=rt.settings.invitation_link_days
    )
    return page(
        request,
        "admin_invitation_link.html",
        link=link,
        url=_url(request, link),
        member=members.get_member(rt.deps, member_id, now=rt.clock.now()),
        created=created,
    )


def _url(request: Request, link: IssuedLink) -> str:
    # The address the operator reached this page at: the one members reach it at too.
    return link.url(str(request.base_url))
