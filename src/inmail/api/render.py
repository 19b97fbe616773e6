"""Service results to API shapes. IDs leave the server as strings."""

from __future__ import annotations

from inmail.api.pagination import next_cursor
from inmail.api.schemas import (
    ChargeOut,
    CreditsOut,
    LedgerEntryOut,
    LotOut,
    MemberOut,
    PackOut,
    Page,
    PlanOut,
    Price,
    PurchaseOut,
    SettingsOut,
    SubscriptionOut,
)
from inmail.domain.plans import Pack, Plan
from inmail.services.credits import Purchase
from inmail.services.settings import MemberSettings
from inmail.services.statements import ChargeLine, CreditsView, LedgerLine
from inmail.services.subscriptions import SubscriptionView
from inmail.store.members import MemberRecord


def member(record: MemberRecord) -> MemberOut:
    return MemberOut(
        id=record.id,
        handle=record.handle,
        name=record.name,
        headline=record.headline,
        company=record.company,
        school=record.school,
        interests=list(record.interests),
        plan=record.plan,
    )


def subscription(view: SubscriptionView) -> SubscriptionOut:
    return SubscriptionOut(
        plan=view.plan,
        pending_plan=view.pending_plan,
        anchor=view.anchor,
        cycle_start=view.cycle_start,
        cycle_end=view.cycle_end,
    )


def plan(p: Plan) -> PlanOut:
    return PlanOut(
        code=p.code,
        name=p.name,
        version=p.version,
        monthly_allotment=p.monthly_allotment,
        rollover_cap=p.rollover_cap,
        price=Price.of(p.price),
        inmail=p.inmail,
        packs=p.packs,
        overage=p.overage,
        overage_pack=p.overage_pack,
        credit_back_days=p.credit_back_days,
        inmail_cost=p.inmail_cost,
        plan_credit_lifetime_days=p.plan_credit_lifetime_days,
        pack_credit_lifetime_days=p.pack_credit_lifetime_days,
        followup_after_days=p.followup_after_days,
        max_followups=p.max_followups,
    )


def pack(p: Pack) -> PackOut:
    return PackOut(code=p.code, credits=p.credits, price=Price.of(p.price))


def settings(s: MemberSettings) -> SettingsOut:
    return SettingsOut(
        inmail_open=s.inmail_open,
        open_profile=s.open_profile,
        group_messages_open=s.group_messages_open,
        auto_overage=s.auto_overage,
        overage_limit_minor=s.overage_limit_minor,
    )


def credits(view: CreditsView) -> CreditsOut:
    return CreditsOut(
        balance=view.balance,
        plan_credits=view.plan_credits,
        purchased_credits=view.purchased_credits,
        monthly_allotment=view.monthly_allotment,
        rollover_cap=view.rollover_cap,
        cycle_start=view.cycle_start,
        cycle_end=view.cycle_end,
        next_renewal_at=view.next_renewal_at,
        forfeit_at_next_renewal=view.forfeit_at_next_renewal,
        lots=[
            LotOut(
                id=str(lot.id),
                source=lot.source.value,
                remaining=lot.remaining,
                expires_at=lot.expires_at,
            )
            for lot in view.lots
        ],
    )


def ledger(lines: list[LedgerLine], limit: int) -> Page[LedgerEntryOut]:
    items = [
        LedgerEntryOut(
            id=str(line.id),
            at=line.at,
            kind=line.kind,
            amount=line.amount,
            balance_after=line.balance_after,
            lot_id=str(line.lot_id),
            source=line.source,
            reference=line.reference,
        )
        for line in lines
    ]
    return Page(items=items, next_cursor=next_cursor([line.id for line in lines], limit))


def charges(lines: list[ChargeLine], limit: int) -> Page[ChargeOut]:
    items = [
        ChargeOut(
            id=line.id,
            at=line.at,
            kind=line.kind,  # type: ignore[arg-type]
            credits=line.credits,
            price=Price.of(line.price),
        )
        for line in lines
    ]
    return Page(items=items, next_cursor=next_cursor([line.seq for line in lines], limit))


def purchase(p: Purchase) -> PurchaseOut:
    return PurchaseOut(credits=p.credits, price=Price.of(p.price), lot_id=str(p.lot_id))
