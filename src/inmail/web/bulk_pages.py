"""The bulk send pages: choose people and a template, see the dry run, confirm, watch it go.

``/bulk?to=<id>&to=<id>`` (the People page links here) shows the people chosen, a box for
handles to paste and the member's templates; ``/bulk/preview`` is the dry run (nothing
written) with the confirm form, which carries the total it showed as ``max_credits`` and
the overage money as ``max_overage`` and its one-time key in the URL like the other confirm
pages; ``/bulk/{id}`` shows the progress and refreshes itself (a meta refresh: no script).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import StringConstraints

from inmail.domain.bulk import Connections
from inmail.domain.errors import DomainError, ValidationError
from inmail.services import bulk_background, bulk_sends, members, templates
from inmail.services.bulk_sends import BulkRequest
from inmail.web.common import Id, back, not_found, page, runtime_of
from inmail.web.forms import FailedForm, OnceKey, PageKey, keyed_page, on_failure, refused_on
from inmail.web.session import CsrfChecked, WebMember, signed_in_member

router = APIRouter(include_in_schema=False)
Ids = Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Query(max_length=1000)]
Handles = Annotated[str, Query(max_length=20_000)]
Choice = Annotated[str, Query(max_length=40)]
REFRESH_SECONDS = 2


@router.get("/bulk", response_class=HTMLResponse)
def bulk_page(
    request: Request,
    member_id: WebMember,
    to: Ids = [],  # noqa: B006 (FastAPI copies defaults)
    handles: Handles = "",
    template: Choice = "",
    connections: Choice = "message",
) -> HTMLResponse:
    """Step 1: the people (ids from the link, handles pasted) and the template."""
    return _choose(request, member_id, to, handles, template, connections)


def _choose(
    request: Request,
    member_id: str,
    to: list[str],
    handles: str,
    template: str,
    connections: str,
    error: str | None = None,
    failed: FailedForm | None = None,
) -> HTMLResponse:
    """The choose page, with ``error`` (a refused preview) or ``failed`` (a refused send)."""
    rt = runtime_of(request)
    chosen = members.members_by_id(rt.deps, to, now=rt.clock.now())
    return page(
        request,
        "bulk.html",
        chosen=[chosen[i] for i in dict.fromkeys(to) if i in chosen],
        handles=handles,
        template_id=template,
        connections=connections,
        templates=[t for _, t in templates.list_templates(rt.deps, owner_id=member_id, limit=None)],
        bulks=[v for _, v in bulk_sends.list_bulk_sends(rt.deps, owner_id=member_id, limit=10)],
        error=error,
        failed=failed,
    )


@router.get("/bulk/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    member_id: WebMember,
    to: Ids = [],  # noqa: B006
    handles: Handles = "",
    template: Choice = "",
    connections: Choice = "message",
    once: PageKey = "",
) -> Response:
    """Step 2: the dry run, every recipient and the total; Confirm sends (keyed by URL)."""
    if keyed := keyed_page(request, once):
        return keyed
    recipients = ",".join(to)
    return _preview(request, member_id, recipients, handles, template, connections, page_key=once)


def _preview(
    request: Request,
    member_id: str,
    recipients: str,
    handles: str,
    template: str,
    connections: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    to = [i for i in recipients.split(",") if i]
    found, unknown = bulk_sends.ids_for_handles(rt.deps, re.split(r"[\s,;]+", handles))
    try:
        request_ = BulkRequest(template, tuple(to + found), _connections(connections))
        run = bulk_sends.dry_run(
            rt.deps,
            owner_id=member_id,
            request=request_,
            now=rt.clock.now(),
            max_recipients=rt.settings.bulk_send_max_recipients,
        )
    except DomainError as error:  # no template chosen, no one listed, too many: say so
        said = None if failed is not None else error.message  # a refused form says it on top
        shown = _choose(request, member_id, to, handles, template, connections, said, failed)
        return refused_on(shown, error)
    return page(
        request,
        "bulk_preview.html",
        run=run,
        unknown=unknown,
        recipients=",".join(request_.recipients),
        back_query=request.url.query,
        failed=failed,
        page_key=page_key,
    )


def _connections(value: str) -> Connections:
    try:
        return Connections(value)
    except ValueError:
        raise ValidationError("choose what to do with connections", field="connections") from None


def _preview_again(request: Request, failed: FailedForm) -> HTMLResponse:
    values = failed.values
    return _preview(
        request,
        signed_in_member(request),
        values.get("recipients", ""),
        "",
        values.get("template", ""),
        values.get("connections", "message"),
        failed,
    )


@router.post("/bulk", dependencies=[CsrfChecked])
@on_failure(_preview_again)
def send(
    request: Request,
    member_id: WebMember,
    background: BackgroundTasks,
    template: Id,
    recipients: Annotated[str, Form(max_length=25_000)],
    max_credits: Annotated[int, Form(ge=0)],
    connections: Id = "message",
    max_overage: Annotated[int | None, Form(ge=0)] = None,
    once: OnceKey = None,
) -> Response:
    """Confirmed: store the bulk send with the totals the page showed, send it after."""
    rt = runtime_of(request)
    request_ = BulkRequest(
        template,
        tuple(i for i in recipients.split(",") if i),
        _connections(connections),
        max_credits,
        max_overage,
    )
    bulk_id = bulk_sends.start_bulk_send(
        rt.deps,
        owner_id=member_id,
        request=request_,
        now=rt.clock.now(),
        idempotency_key=once,
        max_recipients=rt.settings.bulk_send_max_recipients,
    )
    background.add_task(bulk_background.run_here, rt.deps, bulk_id=bulk_id, clock=rt.clock.now)
    return back(request, f"/bulk/{bulk_id}", "Bulk send started.")


@router.get("/bulk/{bulk_id}", response_class=HTMLResponse)
def progress_page(
    request: Request, bulk_id: str, member_id: WebMember, background: BackgroundTasks
) -> HTMLResponse:
    """Step 3: progress and each recipient's outcome; refreshes itself until it is done.
    An unfinished bulk send that no process here is sending (a restart) is resumed."""
    rt = runtime_of(request)
    limit = rt.settings.bulk_send_max_recipients
    try:
        view = bulk_sends.get_bulk_send(rt.deps, owner_id=member_id, bulk_id=bulk_id, limit=limit)
    except DomainError as error:
        return not_found(request, error)
    going = not view.status.finished
    if going and not bulk_background.running_here(bulk_id):
        background.add_task(bulk_background.run_here, rt.deps, bulk_id=bulk_id, clock=rt.clock.now)
    return page(
        request, "bulk_progress.html", view=view, refresh=REFRESH_SECONDS if going else None
    )
