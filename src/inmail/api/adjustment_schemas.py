"""Shapes of the operator's grants, debits and charge refunds (docs/api.md "Adjustments")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from inmail.api.fields import INTEGRAL, OMITTABLE, TextField, Time
from inmail.api.schemas import ChargeOut, In, LotOut, Price
from inmail.domain.adjustments import MAX_ADJUSTMENT_CREDITS
from inmail.domain.credits import ADJUSTMENT_REASON

Credits = Annotated[int, Field(ge=1, le=MAX_ADJUSTMENT_CREDITS), INTEGRAL]
Reason = Annotated[
    str,
    TextField(ADJUSTMENT_REASON),
    Field(description="why: shown to the member beside the ledger line"),
]


class GrantIn(In):
    credits: Credits
    reason: Reason
    expires_at: Annotated[
        Time | None,
        OMITTABLE,
        Field(description="when the granted credits expire (future, UTC); left out: never"),
    ] = None


class DebitIn(In):
    credits: Credits
    reason: Reason


class RefundIn(In):
    amount_minor: Annotated[
        Annotated[int, Field(ge=1, le=10**12), INTEGRAL] | None,
        OMITTABLE,
        Field(description="minor units to refund; left out: all that is left"),
    ] = None


class GrantOut(BaseModel):
    """A grant: its new ``adjustment`` lot, its ledger line and the balance after."""

    member_id: str
    credits: int
    reason: str
    lot: LotOut
    entry_id: str
    balance_after: int
    at: datetime


class DebitLineOut(BaseModel):
    entry_id: str
    lot_id: str
    amount: int = Field(description="credits taken from that lot (negative)")


class DebitOut(BaseModel):
    """A debit: one ledger line per lot it took from (spending order) and the balance after."""

    member_id: str
    credits: int
    reason: str
    entries: list[DebitLineOut]
    balance_after: int
    at: datetime


class RefundOut(BaseModel):
    """A refund: the refund charge (negative), the charge refunded, and the credits taken back
    from the lot it bought."""

    refund: ChargeOut
    charge_id: str
    refunded: Price = Field(description="refunded of the charge so far, this refund included")
    left: Price = Field(description="what may still be refunded")
    clawed_back: int = Field(description="unused credits taken back from the charge's lot")
    lot_id: str | None
    entry_id: str | None = Field(description="the clawback's ledger line; null: none taken")
    balance_after: int
