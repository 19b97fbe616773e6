"""The operator's endpoints (API.md "Operator"): all need the operator token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Response

from inmail.api import render
from inmail.api.deps import CodePath, IdempotencyKey, IdPath, Now, Operator, RuntimeDep, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.event_schemas import EventMemberQuery, EventOut, EventPage, EventTypeQuery
from inmail.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    decode_event_position,
    encode_event_position,
    page_in_memory,
)
from inmail.api.schemas import (
    AdminPackOut,
    AuditOut,
    ChargeOut,
    ClockIn,
    ClockOut,
    ConnectionIn,
    ConnectionOut,
    InvitationLinkOut,
    MemberIn,
    MemberOut,
    PackIn,
    Page,
    PlanChangeIn,
    PlanIn,
    PlanOut,
    Price,
    RenewedOut,
    SubscriptionOut,
    TokenOut,
)
from inmail.bootstrap import Runtime
from inmail.clock import TestClock
from inmail.domain.events import envelope
from inmail.domain.money import Money
from inmail.domain.plans import Pack
from inmail.services import (
    catalog,
    events,
    invitation_links,
    members,
    network,
    renewals,
    statements,
    subscriptions,
)
from inmail.services.audit import run_audit
from inmail.services.auth import issue_token
from inmail.store.outbox import Position

router = APIRouter(
    prefix="/v1/admin",
    tags=["operator"],
    dependencies=[Operator],
    responses=problem_responses(401, 403, 422),
)


@router.post("/members", status_code=201, responses=problem_responses(409))
def create_member(
    body: MemberIn, deps: ServicesDep, now: Now, key: IdempotencyKey = None
) -> MemberOut:
    record = members.create_member(deps, now=now, idempotency_key=key, **body.model_dump())
    return render.member(record)


@router.post("/members/{member_id}/tokens", status_code=201, responses=problem_responses(404))
def create_token(member_id: IdPath, deps: ServicesDep, now: Now) -> TokenOut:
    return TokenOut(token=issue_token(deps, member_id=member_id, now=now))


@router.post("/members/{member_id}/invitations", status_code=201, responses=problem_responses(404))
def create_invitation_link(member_id: IdPath, rt: RuntimeDep, now: Now) -> InvitationLinkOut:
    """A one-time link with which the member sets a password and signs in (shown once, stored
    hashed; it expires after INMAIL_INVITATION_LINK_DAYS). Their earlier unused links stop
    working."""
    days = rt.settings.invitation_link_days
    link = invitation_links.issue_link(rt.deps, member_id=member_id, now=now, days=days)
    return InvitationLinkOut(
        url=link.url(rt.settings.base_url), member_id=link.member_id, expires_at=link.expires_at
    )


@router.post(
    "/connections",
    status_code=201,
    responses={
        200: {"model": ConnectionOut, "description": "Already connected: nothing changed"},
        **problem_responses(404),
    },
)
def connect(body: ConnectionIn, deps: ServicesDep, now: Now, response: Response) -> ConnectionOut:
    created = network.connect(deps, a=body.a, b=body.b, now=now)
    if not created:
        response.status_code = 200
    return ConnectionOut(a=body.a, b=body.b, created=created)


@router.put("/members/{member_id}/subscription", responses=problem_responses(404))
def change_subscription(
    member_id: IdPath, body: PlanChangeIn, deps: ServicesDep, now: Now, key: IdempotencyKey = None
) -> SubscriptionOut:
    view = subscriptions.change_plan(
        deps, member_id=member_id, plan=body.plan, now=now, idempotency_key=key
    )
    return render.subscription(view)


@router.get("/plans")
def list_plans(
    deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PlanOut]:
    """The current version of every plan, cheapest first."""
    found = catalog.list_plans(deps)
    shown, after = page_in_memory([p.code for p in found], cursor, limit)
    return Page(items=[render.plan(p) for p in found[shown]], next_cursor=after)


@router.put("/plans/{code}", responses=problem_responses(409))
def update_plan(code: CodePath, body: PlanIn, deps: ServicesDep, now: Now) -> PlanOut:
    """Save new terms as the plan's next version (a rollover cap below the allotment needs
    ``confirm_lower_cap``; a paid plan's fee must be more than 0)."""
    changes = body.model_dump(exclude_unset=True, exclude={"confirm_lower_cap", "expected_version"})
    if body.price is not None:
        changes["price"] = Money(body.price.amount_minor, body.price.currency)
    saved = catalog.update_plan(
        deps,
        code=code,
        changes=changes,
        now=now,
        lower_cap_confirmed=body.confirm_lower_cap,
        expected_version=body.expected_version,
    )
    return render.plan(saved)


@router.get("/packs")
def list_packs(
    deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[AdminPackOut]:
    """Every pack on sale with its version, fewest credits first."""
    found = catalog.list_pack_versions(deps)
    shown, after = page_in_memory([p.code for p, _ in found], cursor, limit)
    return Page(items=[_pack(p, v) for p, v in found[shown]], next_cursor=after)


@router.put("/packs/{code}", responses=problem_responses(409))
def update_pack(code: CodePath, body: PackIn, deps: ServicesDep, now: Now) -> AdminPackOut:
    """Save new terms as the pack's next version; unchanged terms make no new version."""
    price = None if body.price is None else Money(body.price.amount_minor, body.price.currency)
    edit = catalog.update_pack(
        deps,
        code=code,
        credits=body.credits,
        price=price,
        now=now,
        expected_version=body.expected_version,
    )
    version = edit.version if edit.changes else edit.version - 1
    return _pack(edit.proposed, version)


def _pack(pack: Pack, version: int) -> AdminPackOut:
    return AdminPackOut(
        code=pack.code, credits=pack.credits, price=Price.of(pack.price), version=version
    )


@router.post("/renewals/run")
def run_renewals(deps: ServicesDep, now: Now) -> RenewedOut:
    return RenewedOut(renewed=renewals.renew_all(deps, now=now))


@router.get("/audit")
def audit(deps: ServicesDep, now: Now) -> AuditOut:
    problems = run_audit(deps, now)
    return AuditOut(ok=not problems, problems=problems)


@router.get("/charges")
def export_charges(
    deps: ServicesDep, now: Now, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ChargeOut]:
    lines = statements.list_charges(
        deps, member_id=None, now=now, after=decode_cursor(cursor), limit=limit
    )
    return render.charges(lines, limit)


@router.get("/events")
def list_events(
    deps: ServicesDep,
    limit: Limit = DEFAULT_LIMIT,
    after: Cursor = None,
    event_type: EventTypeQuery = None,
    member_id: EventMemberQuery = None,
) -> EventPage:
    """The outbox, oldest first, for operators who pull instead of taking webhooks
    (docs/events.md): each item is the envelope a webhook carries. An event appears once its
    change has committed and never behind a cursor already handed out; a bad ``after`` is a
    422 naming it. A page filtered by ``type`` or ``member_id`` looks at the next 5,000
    events only: it may hold fewer items, even none, and its ``next_cursor`` then goes on
    past the last event it looked at (caught up: no item, and the ``after`` sent back)."""
    start = decode_event_position(after)
    place = None if start is None else Position(*start)
    page = events.list_events(
        deps, after=place, limit=limit, event_type=event_type, member_id=member_id
    )
    items = [
        EventOut.model_validate(envelope(e.id, e.type, e.member_id, e.at, e.data))
        for e in page.events
    ]
    last = page.place
    cursor = None if last is None else encode_event_position(last.tx, last.seq)
    return EventPage(items=items, next_cursor=cursor)


@router.get("/clock", responses=problem_responses(404))
def read_clock(rt: RuntimeDep) -> ClockOut:
    return ClockOut(now=_test_clock(rt).now())


@router.post("/clock", responses=problem_responses(404))
def move_clock(body: ClockIn, rt: RuntimeDep) -> ClockOut:
    clock = _test_clock(rt)
    if body.now is not None:
        return ClockOut(now=clock.set(body.now))
    step = timedelta(days=body.advance_days or 0, seconds=body.advance_seconds or 0)
    field = "advance_days" if body.advance_days else "advance_seconds"
    return ClockOut(now=clock.advance(step, field=field))


def _test_clock(rt: Runtime) -> TestClock:
    if rt.test_clock is None:
        raise HTTPException(404, "the test clock is off (set INMAIL_TEST_CLOCK to use it)")
    return rt.test_clock
