"""Service results to API shapes. IDs leave the server as strings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inmail.api.pagination import encode_keys, next_cursor
from inmail.api.schemas import (
    AlternativeOut,
    ChargeOut,
    ContactFieldOut,
    CreditsOut,
    FollowUpOut,
    GroupOut,
    IntroductionOut,
    InvitationOut,
    LastMessageOut,
    LedgerEntryOut,
    LotOut,
    MemberOut,
    MessageOut,
    NextRenewalOut,
    NotificationOut,
    OwnContactInfoOut,
    PackOut,
    Page,
    PlanOut,
    PostedOut,
    PostOut,
    Price,
    PurchaseOut,
    QuoteOut,
    SentOut,
    SettingsOut,
    SubscriptionOut,
    SubscriptionPreviewOut,
    ThreadOut,
)
from inmail.domain.billing import NextRenewal
from inmail.domain.messaging import snippet
from inmail.domain.network import Visibility
from inmail.domain.plan_changes import ChangePreview
from inmail.domain.plans import Pack, Plan
from inmail.services.credits import Purchase
from inmail.services.inbox import FollowUpDue, Notice
from inmail.services.inmail import Sent
from inmail.services.quote import Quote
from inmail.services.settings import MemberSettings
from inmail.services.statements import ChargeLine, CreditsView, LedgerLine, LotView
from inmail.services.subscriptions import SubscriptionView
from inmail.store.members import MemberRecord
from inmail.store.messaging import MessageRecord, ThreadRecord
from inmail.store.network import Invitation
from inmail.store.social import Group, Introduction, Post


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
        time_zone=s.time_zone,
    )


def next_renewal(coming: NextRenewal | None) -> NextRenewalOut | None:
    if coming is None:
        return None
    return NextRenewalOut(
        at=coming.at,
        plan=coming.plan.code,
        grant=coming.grant,
        rollover_cap=coming.rollover_cap,
        fee=Price.of(coming.fee),
        forfeit=coming.forfeit,
    )


def subscription_preview(p: ChangePreview) -> SubscriptionPreviewOut:
    charged = p.change.charged
    return SubscriptionPreviewOut(
        plan=p.plan.code,
        change=p.change.kind.value,
        effective_at=p.change.effective_at,
        credits_granted_now=p.change.granted,
        charge_now=None if charged is None else Price.of(charged),
        new_rollover_cap=p.rollover_cap,
        next_renewal=next_renewal(p.next_renewal),
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
        lots=[lot_out(lot) for lot in view.lots],
        lots_total=view.lots_total,
        next_renewal=next_renewal(view.next_renewal),
    )


def lot_out(lot: LotView) -> LotOut:
    return LotOut(
        id=str(lot.id), source=lot.source.value, remaining=lot.remaining, expires_at=lot.expires_at
    )


def lots(found: list[LotView], limit: int) -> Page[LotOut]:
    return Page(
        items=[lot_out(lot) for lot in found],
        next_cursor=next_cursor([lot.id for lot in found], limit),
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
            refund_of=refund_of(line.kind, line.reference),
        )
        for line in lines
    ]
    return Page(items=items, next_cursor=next_cursor([line.seq for line in lines], limit))


def refund_of(kind: str, reference: str) -> str | None:
    """The charge a ``refund`` charge refunds (its reference is ``refund:CHARGE``)."""
    return reference.removeprefix("refund:") if kind == "refund" else None


def purchase(p: Purchase) -> PurchaseOut:
    return PurchaseOut(credits=p.credits, price=Price.of(p.price), lot_id=str(p.lot_id))


def sent(s: Sent) -> SentOut:
    return SentOut(
        id=s.id,
        thread_id=s.thread_id,
        cost_credits=s.cost_credits,
        overage_charge=None if s.overage_charge is None else Price.of(s.overage_charge),
        balance_after=s.balance_after,
    )


def posted(s: Sent) -> PostedOut:
    return PostedOut(
        id=s.id,
        thread_id=s.thread_id,
        kind=s.kind,  # type: ignore[arg-type]
        cost_credits=s.cost_credits,
        overage_charge=None if s.overage_charge is None else Price.of(s.overage_charge),
        balance_after=s.balance_after,
    )


def thread(t: ThreadRecord, messages: Sequence[MessageRecord]) -> ThreadOut:
    return ThreadOut(
        id=t.id,
        kind=t.kind,  # type: ignore[arg-type]
        participants=[t.initiator_id, t.recipient_id],
        initiator=t.initiator_id,
        status=t.status,  # type: ignore[arg-type]
        created_at=t.created_at,
        last_message_at=t.last_message_at,
        opened_at=t.opened_at,
        responded_at=t.responded_at,
        followups_sent=t.followups_sent,
        decline_reason=t.decline_reason,  # type: ignore[arg-type]
        last_message=None if not messages else last_message(messages[-1]),
        messages=[
            MessageOut(
                id=m.id,
                sender=m.sender_id,
                kind=m.kind,
                subject=m.subject,
                body=m.body,
                cost_credits=m.cost_credits,
                at=m.created_at,
            )
            for m in messages
        ],
    )


def last_message(m: MessageRecord) -> LastMessageOut:
    return LastMessageOut(
        id=m.id, sender=m.sender_id, kind=m.kind, snippet=snippet(m.body), at=m.created_at
    )


def follow_up(d: FollowUpDue) -> FollowUpOut:
    assert d.thread.last_inmail_at is not None
    return FollowUpOut(
        thread_id=d.thread.id,
        recipient=d.thread.recipient_id,
        last_inmail_at=d.thread.last_inmail_at,
        due_at=d.due_at,
        followups_sent=d.thread.followups_sent,
    )


def follow_ups(due: list[FollowUpDue], limit: int) -> Page[FollowUpOut]:
    last = due[-1] if len(due) == limit else None
    after = None if last is None else encode_keys(last.due_at.isoformat(), last.thread.id)
    return Page(items=[follow_up(d) for d in due], next_cursor=after)


def members(ids: list[str], found: dict[str, MemberRecord], limit: int) -> Page[MemberOut]:
    """The members of ``ids`` in that order (mutual connections, by id)."""
    after = encode_keys(ids[-1]) if len(ids) == limit else None
    return Page(items=[member(found[m]) for m in ids if m in found], next_cursor=after)


def group_members(
    page: list[tuple[datetime, str]], found: dict[str, MemberRecord], limit: int
) -> Page[MemberOut]:
    """A page of (member since, id), longest-standing first."""
    last = page[-1] if len(page) == limit else None
    after = None if last is None else encode_keys(last[0].isoformat(), last[1])
    items = [member(found[m]) for _, m in page if m in found]
    return Page(items=items, next_cursor=after)


def invitations(found: list[Invitation], limit: int) -> Page[InvitationOut]:
    last = found[-1] if len(found) == limit else None
    after = None if last is None else encode_keys(last.created_at.isoformat(), last.id)
    return Page(items=[invitation(i) for i in found], next_cursor=after)


def notice(n: Notice) -> NotificationOut:
    return NotificationOut(
        id=str(n.id),
        at=n.at,
        kind=n.kind,
        text=n.text,
        reference=n.reference,
        read_at=n.read_at,
        actor=n.actor_id,
    )


def quote(q: Quote) -> QuoteOut:
    return QuoteOut(
        channel=q.channel.value,
        cost_credits=q.cost_credits,
        allowed=q.allowed,
        reason=q.reason,
        overage_charge=None if q.overage_charge is None else Price.of(q.overage_charge),
        alternatives=[AlternativeOut(channel=c, detail=d) for c, d in q.alternatives],
        thread_id=q.thread_id,
        follow_up_at=q.follow_up_at,
    )


def invitation(i: Invitation) -> InvitationOut:
    return InvitationOut(
        id=i.id,
        from_member=i.from_id,
        to_member=i.to_id,
        status=i.status,  # type: ignore[arg-type]
        note=i.note,
        created_at=i.created_at,
    )


def group(g: Group) -> GroupOut:
    return GroupOut(
        id=g.id,
        name=g.name,
        description=g.description,
        closed=g.closed,
        owner=g.owner_id,
        created_at=g.created_at,
    )


def post(p: Post) -> PostOut:
    return PostOut(
        id=p.id,
        author=p.author_id,
        parent_id=p.parent_id,
        body=p.body,
        mentions=list(p.mentions),
        created_at=p.created_at,
    )


def posts(found: list[tuple[int, Post]], limit: int) -> Page[PostOut]:
    items = [post(p) for _, p in found]
    positions = [seq for seq, _ in found]
    # Newest first: the cursor is the oldest position shown, and the next page goes below it.
    return Page(items=items, next_cursor=next_cursor(positions, limit))


def own_contact(fields: dict[str, tuple[str, Visibility]]) -> OwnContactInfoOut:
    return OwnContactInfoOut(
        **{
            name: ContactFieldOut(value=value, visibility=visibility.value)
            for name, (value, visibility) in fields.items()
        }
    )


def introduction(i: Introduction) -> IntroductionOut:
    return IntroductionOut(
        id=i.id,
        status=i.status,  # type: ignore[arg-type]
        requester=i.requester_id,
        via=i.via_id,
        target=i.target_id,
        note=i.note,
        thread_id=i.thread_id,
    )
