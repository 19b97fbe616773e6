"""The member's own endpoints (API.md "Member"): credits, billing and settings."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inmail.api import render
from inmail.api.deps import (
    AnyCaller,
    CodeQuery,
    CurrentMember,
    IdempotencyKey,
    IdPath,
    Member,
    Now,
    ServicesDep,
    on_database,
)
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, page_in_memory
from inmail.api.schemas import (
    ChargeOut,
    CreditsOut,
    LedgerEntryOut,
    LotOut,
    MemberOut,
    PackOut,
    Page,
    PlanChangeIn,
    PurchaseIn,
    PurchaseOut,
    SettingsIn,
    SettingsOut,
    SubscriptionOut,
    SubscriptionPreviewOut,
    TokenInfoOut,
)
from inmail.services import auth, catalog, credits, members, settings, statements, subscriptions

router = APIRouter(prefix="/v1", tags=["member"], responses=problem_responses(401, 403, 422))


@router.get("/me")
def me(member_id: CurrentMember, deps: ServicesDep, now: Now) -> MemberOut:
    return render.member(members.get_member(deps, member_id, now=now))


@router.get("/me/settings")
def read_settings(member_id: CurrentMember, deps: ServicesDep) -> SettingsOut:
    return render.settings(settings.get_settings(deps, member_id=member_id))


@router.put("/me/settings")
def change_settings(
    body: SettingsIn, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> SettingsOut:
    changes = body.model_dump(exclude_unset=True)
    updated = settings.update_settings(deps, member_id=member_id, changes=changes, now=now)
    return render.settings(updated)


@router.get("/me/tokens")
def list_tokens(
    member_id: CurrentMember, deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[TokenInfoOut]:
    """My API tokens, newest first: ids and creation times (a token is shown only when made)."""
    found = auth.list_tokens(deps, member_id=member_id)
    shown, after = page_in_memory([t.id for t in found], cursor, limit)
    items = [TokenInfoOut(id=t.id, created_at=t.created_at) for t in found[shown]]
    return Page(items=items, next_cursor=after)


@router.delete("/me/tokens/{token_id}", status_code=204, responses=problem_responses(404))
def revoke_token(token_id: IdPath, member_id: CurrentMember, deps: ServicesDep) -> None:
    """Revoke one of my tokens: it stops working (within seconds on every server process).
    Revoking the token the request is made with is allowed."""
    auth.revoke_token(deps, member_id=member_id, token_id=token_id)


@router.get("/me/subscription")
def read_subscription(member_id: CurrentMember, deps: ServicesDep, now: Now) -> SubscriptionOut:
    return render.subscription(subscriptions.get_subscription(deps, member_id=member_id, now=now))


@router.get("/me/subscription/preview")
def preview_subscription(
    plan: CodeQuery,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
) -> SubscriptionPreviewOut:
    """What changing to ``plan`` would grant and charge now, and what the next renewal does."""
    preview = subscriptions.preview_change(deps, member_id=member_id, plan=plan, now=now)
    return render.subscription_preview(preview)


@router.put("/me/subscription")
def change_subscription(
    body: PlanChangeIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> SubscriptionOut:
    view = subscriptions.change_plan(
        deps, member_id=member_id, plan=body.plan, now=now, idempotency_key=key
    )
    return render.subscription(view)


@router.get("/me/credits", response_model=CreditsOut)
async def read_credits(call: Member) -> Response:
    # The busiest read: one dependency, its database work where it costs least (on the loop
    # with one request thread), and the answer encoded straight from the model built here
    # (no second validation of what we just built).
    view = await on_database(
        call.runtime, statements.get_credits, call.deps, member_id=call.member_id, now=call.now
    )
    return Response(render.credits(view).model_dump_json(), media_type="application/json")


@router.get("/me/credits/lots")
def read_lots(
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LotOut]:
    """Every live lot (credits left), oldest first: the full list behind ``lots`` of
    GET /v1/me/credits, which shows the first ones a spend takes."""
    after = decode_cursor(cursor)
    found = statements.list_lots(deps, member_id=member_id, now=now, after=after, limit=limit)
    return render.lots(found, limit)


@router.get("/me/credits/ledger")
def read_ledger(
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LedgerEntryOut]:
    after = decode_cursor(cursor)
    lines = statements.list_ledger(deps, member_id=member_id, now=now, after=after, limit=limit)
    return render.ledger(lines, limit)


@router.get("/packs")
def list_packs(
    _: AnyCaller, deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PackOut]:
    """The credit packs, smallest first."""
    found = catalog.list_packs(deps)
    shown, after = page_in_memory([p.code for p in found], cursor, limit)
    return Page(items=[render.pack(p) for p in found[shown]], next_cursor=after)


@router.post("/me/purchases", status_code=201)
def buy(
    body: PurchaseIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> PurchaseOut:
    bought = credits.buy_pack(
        deps, member_id=member_id, pack=body.pack, now=now, idempotency_key=key
    )
    return render.purchase(bought)


@router.get("/me/charges")
def read_charges(
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ChargeOut]:
    after = decode_cursor(cursor)
    lines = statements.list_charges(deps, member_id=member_id, now=now, after=after, limit=limit)
    return render.charges(lines, limit)
