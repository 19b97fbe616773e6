"""The JSON shapes of bulk sends (API.md "Additions": ``POST /v1/bulk-sends``, ``GET
/v1/bulk-sends/{id}``), and how the services' answers become them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from inmail.api.fields import INTEGRAL, OMITTABLE
from inmail.api.pagination import encode_cursor
from inmail.api.schemas import Count, In, MemberId, Page, Price
from inmail.domain.bulk import Connections, Outcome, Planned
from inmail.domain.bulk_budget import Stop, Totals
from inmail.domain.money import Money
from inmail.services.bulk_facts import Person
from inmail.services.bulk_sends import BulkRequest, BulkView, DryRun, reason_json
from inmail.store.bulk_sends import RecipientRecord

Minor = Annotated[int, Field(ge=0, le=10**12), INTEGRAL]


class BulkSendIn(In):
    """A bulk send: ``dry_run: true`` answers what it would do (200, nothing written);
    ``false`` sends (202) and needs an ``Idempotency-Key`` and ``max_credits``."""

    template_id: MemberId = Field(description="one of your templates")
    recipients: Annotated[list[MemberId], Field(min_length=1)] = Field(
        description="member ids in the order to write to them (at most 500 by default)"
    )
    dry_run: bool
    max_credits: Annotated[Count | None, OMITTABLE] = Field(
        None, description="the credits you confirmed: never spent beyond (needed to send)"
    )
    max_overage_minor: Annotated[Minor | None, OMITTABLE] = Field(
        None,
        description="the overage money you confirmed, in minor units of the overage pack's "
        "currency; left out: what the rules bill",
    )
    connections: Literal["message", "skip"] = Field(
        "message", description="a connection gets the body as a free message, or is skipped"
    )

    def request(self) -> BulkRequest:
        return BulkRequest(
            self.template_id,
            tuple(self.recipients),
            Connections(self.connections),
            self.max_credits,
            self.max_overage_minor,
        )


class BulkReasonOut(BaseModel):
    """Why a recipient is not sent: the stable ``code`` and words for people."""

    code: str
    detail: str
    missing: list[str] | None = Field(None, description="placeholders without a value")
    thread_id: str | None = Field(None, description="your InMail thread awaiting a response")
    follow_up_at: datetime | None = Field(None, description="when a follow-up there is possible")


class PreviewOut(BaseModel):
    """The template rendered for the recipient (a free message has no subject)."""

    subject: str | None
    body: str


Status = Literal["send", "pending", "sent", "not_sent"]
ChannelName = Literal["inmail", "open_profile", "message"]


class BulkRecipientOut(BaseModel):
    position: int = Field(description="in the list as given, from 1")
    member_id: str
    handle: str | None
    name: str | None
    status: Status = Field(description="send (a dry run), pending, sent or not_sent")
    channel: ChannelName | None
    variant: Literal["a", "b"] | None
    cost_credits: int = Field(description="spent (or, in a dry run, to be spent) on them")
    overage_charge: Price | None
    preview: PreviewOut | None = Field(description="a dry run's rendered text")
    message_id: str | None
    thread_id: str | None
    reason: BulkReasonOut | None


class BulkTotalsOut(BaseModel):
    recipients: int
    to_send: int
    inmails: int
    messages: int
    not_sent: int
    credits_needed: int = Field(description="what every reachable recipient costs")
    credits_to_spend: int = Field(description="what this bulk send would spend: confirm it")
    credits_available: int
    overage_packs: int
    overage_charge: Price | None


class BulkStopOut(BaseModel):
    """The refusal for money that stops (or would stop) the bulk send, and where."""

    position: int
    code: str
    detail: str


class BulkDryRunOut(BaseModel):
    dry_run: Literal[True]
    template_id: str
    template_name: str
    connections: Literal["message", "skip"]
    max_credits: int | None
    max_overage_minor: int | None
    totals: BulkTotalsOut
    stop: BulkStopOut | None
    recipients: list[BulkRecipientOut] = Field(description="every recipient, in list order")


class BulkCountsOut(BaseModel):
    recipients: int
    pending: int
    sent: int
    not_sent: int


class BulkSendSummaryOut(BaseModel):
    id: str
    status: Literal["pending", "running", "done", "stopped"]
    template_id: str
    connections: Literal["message", "skip"]
    max_credits: int
    max_overage_minor: int | None
    credits_spent: int
    overage_charge: Price | None = Field(description="the overage money it billed")
    counts: BulkCountsOut
    stop: BulkStopOut | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class BulkSendOut(BulkSendSummaryOut):
    recipients: Page[BulkRecipientOut] = Field(description="a page (?limit=&cursor=)")


# ---- from the services' answers ------------------------------------------------------------


def _price(money: Money | None) -> Price | None:
    return None if money is None else Price.of(money)


def _reason(stored: dict[str, Any] | None) -> BulkReasonOut | None:
    return None if stored is None else BulkReasonOut.model_validate(stored)


def _stop(stop: Stop | None) -> BulkStopOut | None:
    if stop is None:
        return None
    return BulkStopOut(position=stop.position, code=stop.refusal.code, detail=stop.refusal.detail)


def planned(p: Planned, person: Person | None) -> BulkRecipientOut:
    sending = p.outcome == Outcome.SEND
    letter = p.letter if sending else None
    channel = None if p.channel is None else p.channel.value
    preview = None
    if letter is not None:
        subject = None if channel == "message" else letter.subject
        preview = PreviewOut(subject=subject, body=letter.body)
    return BulkRecipientOut(
        position=p.position,
        member_id=p.member_id,
        handle=None if person is None else person.handle,
        name=None if person is None else person.name,
        status=p.outcome.value,
        channel=channel,  # type: ignore[arg-type]
        variant=None if p.variant is None else p.variant.value,
        cost_credits=p.cost if sending else 0,
        overage_charge=_price(p.overage),
        preview=preview,
        message_id=None,
        thread_id=None,
        reason=None if p.refusal is None else _reason(reason_json(p.refusal)),
    )


def _totals(t: Totals) -> BulkTotalsOut:
    return BulkTotalsOut(
        recipients=t.recipients,
        to_send=t.to_send,
        inmails=t.inmails,
        messages=t.messages,
        not_sent=t.not_sent,
        credits_needed=t.credits_needed,
        credits_to_spend=t.credits_to_spend,
        credits_available=t.credits_available,
        overage_packs=t.overage_packs,
        overage_charge=_price(t.overage_charge),
    )


def dry_run(run: DryRun) -> BulkDryRunOut:
    request, budgeted = run.request, run.budgeted
    return BulkDryRunOut(
        dry_run=True,
        template_id=request.template_id,
        template_name=run.template_name,
        connections=request.connections.value,
        max_credits=request.max_credits,
        max_overage_minor=request.max_overage_minor,
        totals=_totals(budgeted.totals),
        stop=_stop(budgeted.stop),
        recipients=[planned(p, run.people.get(p.member_id)) for p in budgeted.recipients],
    )


def recipient(r: RecipientRecord, currency: str | None) -> BulkRecipientOut:
    overage = None
    if r.overage_minor and currency is not None:
        overage = Price(amount_minor=r.overage_minor, currency=currency)
    return BulkRecipientOut(
        position=r.position,
        member_id=r.member_id,
        handle=r.handle,
        name=r.name,
        status=r.status,  # type: ignore[arg-type]
        channel=r.channel,  # type: ignore[arg-type]
        variant=r.variant,  # type: ignore[arg-type]
        cost_credits=r.cost_credits,
        overage_charge=overage,
        preview=None,
        message_id=r.message_id,
        thread_id=r.thread_id,
        reason=_reason(r.reason),
    )


def summary(view: BulkView) -> BulkSendSummaryOut:
    b, c = view.bulk, view.counts
    overage = None
    if b.overage_minor and b.overage_currency is not None:
        overage = Price(amount_minor=b.overage_minor, currency=b.overage_currency)
    stop = None if b.stop is None else BulkStopOut.model_validate(b.stop)
    return BulkSendSummaryOut(
        id=b.id,
        status=b.status,  # type: ignore[arg-type]
        template_id=b.template_id,
        connections=b.connections,  # type: ignore[arg-type]
        max_credits=b.max_credits,
        max_overage_minor=b.max_overage_minor,
        credits_spent=b.credits_spent,
        overage_charge=overage,
        counts=BulkCountsOut(
            recipients=b.recipients, pending=c.pending, sent=c.sent, not_sent=c.not_sent
        ),
        stop=stop,
        created_at=b.created_at,
        updated_at=b.updated_at,
        finished_at=b.finished_at,
    )


def bulk_send(view: BulkView, limit: int) -> BulkSendOut:
    page = view.recipients
    after = encode_cursor(page[-1].position) if len(page) == limit and page else None
    items = [recipient(r, view.bulk.overage_currency) for r in page]
    return BulkSendOut(
        **summary(view).model_dump(),
        recipients=Page[BulkRecipientOut](items=items, next_cursor=after),
    )
