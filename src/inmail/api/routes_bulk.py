"""Bulk sends: a dry run, then the sends, then their progress (issue 10 §6)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Response

from inmail.api import bulk_schemas as shapes
from inmail.api.bulk_schemas import BulkDryRunOut, BulkSendIn, BulkSendOut, BulkSendSummaryOut
from inmail.api.deps import CurrentMember, IdempotencyKey, IdPath, Now, RuntimeDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, next_cursor
from inmail.api.schemas import Page
from inmail.bootstrap import Runtime
from inmail.services import bulk_background, bulk_sends
from inmail.services.bulk_sends import BulkView

router = APIRouter(
    prefix="/v1", tags=["bulk sends"], responses=problem_responses(401, 403, 404, 409, 422)
)


@router.post(
    "/bulk-sends",
    status_code=202,
    response_model=None,  # one model per status, below
    responses={
        200: {"model": BulkDryRunOut, "description": "The dry run: nothing was written"},
        202: {"model": BulkSendOut, "description": "Stored; sent in the background"},
    },
)
def post_bulk_send(
    body: BulkSendIn,
    member_id: CurrentMember,
    rt: RuntimeDep,
    now: Now,
    response: Response,
    background: BackgroundTasks,
    key: IdempotencyKey = None,
) -> BulkDryRunOut | BulkSendOut:
    """A dry run (200: what it would do, nothing written) or the bulk send itself (202:
    stored, sent in the background; a retry with the same key answers the same one)."""
    limit = rt.settings.bulk_send_max_recipients
    if body.dry_run:
        response.status_code = 200
        found = bulk_sends.dry_run(
            rt.deps, owner_id=member_id, request=body.request(), now=now, max_recipients=limit
        )
        return shapes.dry_run(found)
    bulk_id = bulk_sends.start_bulk_send(
        rt.deps,
        owner_id=member_id,
        request=body.request(),
        now=now,
        idempotency_key=key,
        max_recipients=limit,
    )
    response.headers["Location"] = f"/v1/bulk-sends/{bulk_id}"
    view = bulk_sends.get_bulk_send(rt.deps, owner_id=member_id, bulk_id=bulk_id)
    return shapes.bulk_send(_going_on(rt, view, background), DEFAULT_LIMIT)


@router.get("/bulk-sends/{bulk_id}")
def get_bulk_send(
    bulk_id: IdPath,
    member_id: CurrentMember,
    rt: RuntimeDep,
    background: BackgroundTasks,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> BulkSendOut:
    """Progress and a page of per-recipient results (yours only); an unfinished bulk send
    that no process here is sending (after a restart) is resumed."""
    after = decode_cursor(cursor)
    view = bulk_sends.get_bulk_send(
        rt.deps, owner_id=member_id, bulk_id=bulk_id, after=after, limit=limit
    )
    return shapes.bulk_send(_going_on(rt, view, background), limit)


@router.get("/bulk-sends")
def list_bulk_sends(
    member_id: CurrentMember, rt: RuntimeDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[BulkSendSummaryOut]:
    """Your bulk sends, newest first."""
    found = bulk_sends.list_bulk_sends(
        rt.deps, owner_id=member_id, before=decode_cursor(cursor), limit=limit
    )
    items = [shapes.summary(view) for _, view in found]
    return Page(items=items, next_cursor=next_cursor([seq for seq, _ in found], limit))


def _going_on(rt: Runtime, view: BulkView, background: BackgroundTasks) -> BulkView:
    """Send (or resume sending) an unfinished bulk send after the answer, in this process."""
    if not view.status.finished and not bulk_background.running_here(view.bulk.id):
        background.add_task(
            bulk_background.run_here, rt.deps, bulk_id=view.bulk.id, clock=rt.clock.now
        )
    return view
