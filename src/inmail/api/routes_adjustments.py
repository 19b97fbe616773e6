"""The operator's credit corrections (API.md "Additions"): grants, debits, charge refunds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from inmail.api.adjustment_schemas import (
    DebitIn,
    DebitLineOut,
    DebitOut,
    GrantIn,
    GrantOut,
    RefundIn,
    RefundOut,
)
from inmail.api.deps import IdempotencyKey, IdPath, Now, Operator, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.schemas import ChargeOut, LotOut, Price
from inmail.services import adjustments
from inmail.services.adjustments import Debited, Granted, Refunded

router = APIRouter(
    prefix="/v1/admin",
    tags=["operator"],
    dependencies=[Operator],
    responses=problem_responses(401, 403, 404, 422),
)


_WHOLE = RefundIn()  # no body: refund all that is left


@router.post("/members/{member_id}/grants", status_code=201)
def grant(
    member_id: IdPath, body: GrantIn, deps: ServicesDep, now: Now, key: IdempotencyKey = None
) -> GrantOut:
    """Grant credits as an ``adjustment`` lot (expiring at ``expires_at``, or never), with a
    reason the member sees in their statement."""
    done = adjustments.grant_credits(
        deps, member_id=member_id, now=now, idempotency_key=key, **body.model_dump()
    )
    return _granted(done)


@router.post("/members/{member_id}/debits", status_code=201, responses=problem_responses(402))
def debit(
    member_id: IdPath, body: DebitIn, deps: ServicesDep, now: Now, key: IdempotencyKey = None
) -> DebitOut:
    """Take credits in spending order, with a reason the member sees; more than the balance
    is 402 ``insufficient-credits`` and takes nothing."""
    done = adjustments.debit_credits(
        deps, member_id=member_id, now=now, idempotency_key=key, **body.model_dump()
    )
    return _debited(done)


@router.post("/charges/{charge_id}/refund", status_code=201, responses=problem_responses(409))
def refund(
    charge_id: IdPath,
    deps: ServicesDep,
    now: Now,
    body: Annotated[RefundIn, Body()] = _WHOLE,
    key: IdempotencyKey = None,
) -> RefundOut:
    """Refund a pack or overage charge (all that is left, or ``amount_minor``) and take back
    that share of its lot's unused credits, rounded down; spent credits stay spent."""
    done = adjustments.refund_charge(
        deps, charge_id=charge_id, amount_minor=body.amount_minor, now=now, idempotency_key=key
    )
    return _refunded(done)


def _granted(g: Granted) -> GrantOut:
    lot = LotOut(
        id=str(g.lot_id), source="adjustment", remaining=g.credits, expires_at=g.expires_at
    )
    return GrantOut(
        member_id=g.member_id,
        credits=g.credits,
        reason=g.reason,
        lot=lot,
        entry_id=str(g.entry_id),
        balance_after=g.balance_after,
        at=g.at,
    )


def _debited(d: Debited) -> DebitOut:
    lines = [
        DebitLineOut(entry_id=str(e.entry_id), lot_id=str(e.lot_id), amount=e.amount)
        for e in d.entries
    ]
    return DebitOut(
        member_id=d.member_id,
        credits=d.credits,
        reason=d.reason,
        entries=lines,
        balance_after=d.balance_after,
        at=d.at,
    )


def _refunded(r: Refunded) -> RefundOut:
    charge = ChargeOut(
        id=r.refund_id,
        at=r.at,
        kind="refund",
        credits=-r.clawed_back,
        price=Price.of(r.amount),
        refund_of=r.charge_id,
    )
    return RefundOut(
        refund=charge,
        charge_id=r.charge_id,
        refunded=Price.of(r.refunded),
        left=Price.of(r.left),
        clawed_back=r.clawed_back,
        lot_id=None if r.lot_id is None else str(r.lot_id),
        entry_id=None if r.entry_id is None else str(r.entry_id),
        balance_after=r.balance_after,
    )
