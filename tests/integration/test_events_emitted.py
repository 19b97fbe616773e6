"""Every change writes its event to the outbox in its own transaction (docs/events.md), on both
engines: charges, every ledger entry kind, renewals, notifications, InMails sent and answered.
A refused or replayed operation writes none; the audit names a change that has no event."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from inmail.domain.errors import AlreadySpent, InsufficientCredits
from inmail.domain.inbox import DeclineReason
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.services.credits import (
    adjust_credits,
    buy_pack,
    refund_spend,
    spend_credits,
    update_overage_settings,
)
from inmail.services.inmail import decline, post_in_thread, send_inmail
from inmail.services.renewals import renew_all
from inmail.services.statements import get_credits
from inmail.services.subscriptions import change_plan
from inmail.store import messaging as message_store
from inmail.store.tables import charges, ledger_entries, outbox_events
from tests.conftest import T0
from tests.helpers import days, months_after, new_member


def _events(deps: Deps, member: str, *types: str) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of the member's stored events, in the order written (read from the table:
    the readers' horizon is the API's subject, tested on its own)."""
    query = select(outbox_events).where(outbox_events.c.member_id == member)
    if types:
        query = query.where(outbox_events.c.type.in_(types))
    with deps.db.read() as conn:
        rows = conn.execute(query.order_by(outbox_events.c.seq)).all()
    return [(r.type, json.loads(r.payload)) for r in rows]


def _count_events(deps: Deps) -> int:
    with deps.db.read() as conn:
        return len(conn.execute(select(outbox_events.c.seq)).all())


def _assert_every_change_told(deps: Deps) -> None:
    """Each ledger row and each charge has exactly one event whose data is that row's."""
    with deps.db.read() as conn:
        entries = conn.execute(select(ledger_entries)).all()
        billed = conn.execute(select(charges)).all()
        stored = conn.execute(select(outbox_events)).all()
    told = [(r.type, r.member_id, r.at, json.loads(r.payload)) for r in stored]
    ledger_told = {
        d["entry_id"]: (
            m,
            at,
            d["kind"],
            d["lot_id"],
            d["amount"],
            d["balance_after"],
            d["reference"],
        )
        for t, m, at, d in told
        if t == "ledger.entry_created"
    }
    assert len(ledger_told) == len(entries)
    assert ledger_told == {
        e.id: (e.member_id, e.at, e.kind, e.lot_id, e.amount, e.balance_after, e.reference)
        for e in entries
    }
    charges_told = {
        d["charge_id"]: (m, at, d["kind"], d["amount_minor"], d["currency"], d["credits"])
        for t, m, at, d in told
        if t == "charge.created"
    }
    assert charges_told == {
        c.id: (c.member_id, c.at, c.kind, c.amount_minor, c.currency, c.credits) for c in billed
    }
    assert run_audit(deps) == []


def _kinds(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    return [(t, d.get("kind") or d.get("response") or "") for t, d in events]


def test_a_new_paid_member_is_told_with_the_fee_the_grant_and_the_renewal(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    (fee,) = [d for t, d in _events(deps, member) if t == "charge.created"]
    assert {k: fee[k] for k in ("kind", "amount_minor", "currency", "credits")} == {
        "kind": "subscription",
        "amount_minor": 5999,
        "currency": "USD",
        "credits": None,
    }
    assert fee["charge_id"].startswith("ch_")
    (renewed,) = [d for t, d in _events(deps, member) if t == "credits.renewed"]
    assert (renewed["cycle"], renewed["plan_code"], renewed["granted"]) == (
        0,
        "premium_business",
        25,
    )
    _assert_every_change_told(deps)


def test_a_spend_on_the_hot_path_tells_its_ledger_line_with_the_rows_id(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    # The first spend reads the plan into the cache (the general path); the next is the hot one.
    spend_credits(deps, member_id=member, cost=1, reference="inmail:0", now=T0)
    spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=T0)
    (_, data) = _events(deps, member, "ledger.entry_created")[-1]
    with deps.db.read() as conn:
        row = conn.execute(
            select(ledger_entries).where(ledger_entries.c.reference == "inmail:1")
        ).one()
    assert data == {
        "entry_id": row.id,
        "kind": "spend",
        "lot_id": row.lot_id,
        "lot_source": "allotment",
        "amount": -1,
        "balance_after": 23,
        "reference": "inmail:1",
    }
    _assert_every_change_told(deps)


def test_a_spend_from_two_lots_tells_each_line(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    spend_credits(deps, member_id=member, cost=24, reference="inmail:1", now=T0)
    buy_pack(deps, member_id=member, pack="pack_5", now=T0)
    spend_credits(deps, member_id=member, cost=2, reference="inmail:2", now=T0)
    lines = [d for _, d in _events(deps, member, "ledger.entry_created")]
    assert [(d["lot_source"], d["amount"], d["balance_after"]) for d in lines[-2:]] == [
        ("allotment", -1, 5),
        ("purchase", -1, 4),
    ]
    _assert_every_change_told(deps)


def test_an_overage_is_told_as_its_charge_its_grant_its_spend_and_its_notice(deps: Deps) -> None:
    member = new_member(deps, "sales_navigator_professional", T0)  # 15 credits
    spend_credits(deps, member_id=member, cost=15, reference="inmail:1", now=T0)
    before = len(_events(deps, member))
    spend_credits(deps, member_id=member, cost=1, reference="inmail:2", now=T0)
    added = _events(deps, member)[before:]
    assert _kinds(added) == [
        ("ledger.entry_created", "grant"),
        ("ledger.entry_created", "spend"),
        ("charge.created", "overage"),
        ("notification.created", "overage_purchase"),
    ]
    charge = added[2][1]
    assert (charge["amount_minor"], charge["currency"], charge["credits"]) == (1000, "USD", 1)
    assert added[3][1]["reference"] == "inmail:2"
    _assert_every_change_told(deps)


def test_a_pack_is_told_and_so_is_its_expiry_a_year_later(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    bought = buy_pack(deps, member_id=member, pack="pack_10", now=T0)
    (charge,) = [d for t, d in _events(deps, member) if d.get("kind") == "pack"]
    assert (charge["charge_id"], charge["amount_minor"], charge["credits"]) == (
        bought.charge_id,
        8500,
        10,
    )
    get_credits(deps, member_id=member, now=T0 + days(366))  # the catch-up expires the lot
    expired = [d for _, d in _events(deps, member, "ledger.entry_created") if d["kind"] == "expire"]
    assert [(d["lot_id"], d["amount"]) for d in expired if d["lot_source"] == "purchase"] == [
        (bought.lot_id, -10)
    ]
    _assert_every_change_told(deps)


def test_an_upgrade_is_told_as_a_proration_charge(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    halfway = T0 + (months_after(T0, 1) - T0) / 2
    change_plan(deps, member_id=member, plan="recruiter", now=halfway)
    charged = [d for t, d in _events(deps, member, "charge.created")]
    assert [d["kind"] for d in charged] == ["subscription", "proration"]
    assert charged[-1]["amount_minor"] == (83500 - 5999) // 2
    _assert_every_change_told(deps)


def test_a_renewal_is_told_with_its_notice_fee_and_forfeit(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    next_cycle = months_after(T0, 1)
    before = len(_events(deps, member))
    assert renew_all(deps, now=next_cycle) == 1
    added = _events(deps, member)[before:]
    kinds = _kinds(added)
    assert ("charge.created", "subscription") in kinds
    assert ("ledger.entry_created", "grant") in kinds
    assert ("notification.created", "credits_renewed") in kinds
    (renewed,) = [d for t, d in added if t == "credits.renewed"]
    forfeited = sum(-d["amount"] for t, d in added if d.get("kind") == "forfeit")
    assert (renewed["cycle"], renewed["forfeited"]) == (1, forfeited)
    assert {at for _, at in _times(deps, member)[before:]} == {next_cycle}
    _assert_every_change_told(deps)


def _times(deps: Deps, member: str) -> list[tuple[str, datetime]]:
    query = select(outbox_events.c.type, outbox_events.c.at).where(
        outbox_events.c.member_id == member
    )
    with deps.db.read() as conn:
        return [(t, at) for t, at in conn.execute(query.order_by(outbox_events.c.seq))]


def test_refunds_and_adjustments_are_told_as_their_ledger_kinds(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=T0)
    refund_spend(deps, member_id=member, reference="inmail:1", now=T0)
    adjust_credits(deps, member_id=member, amount=3, reason="goodwill", now=T0)
    adjust_credits(deps, member_id=member, amount=-2, reason="correction", now=T0)
    lines = [d for _, d in _events(deps, member, "ledger.entry_created")][-3:]
    assert [(d["kind"], d["amount"], d["balance_after"], d["reference"]) for d in lines] == [
        ("refund", 1, 25, "inmail:1"),
        ("adjustment", 3, 28, "adjustment:goodwill"),
        ("adjustment", -2, 26, "adjustment:correction"),
    ]
    _assert_every_change_told(deps)


def test_refused_spends_write_no_event(deps: Deps) -> None:
    member = new_member(deps, "sales_navigator_professional", T0)
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)
    spend_credits(deps, member_id=member, cost=15, reference="inmail:1", now=T0)
    before = _count_events(deps)
    with pytest.raises(InsufficientCredits):
        spend_credits(deps, member_id=member, cost=1, reference="inmail:2", now=T0)
    with pytest.raises(AlreadySpent):
        spend_credits(deps, member_id=member, cost=0, reference="inmail:1", now=T0)
    assert _count_events(deps) == before


def test_an_inmail_is_told_to_both_sides_once_even_when_its_key_is_replayed(
    deps: Deps,
) -> None:
    sender = new_member(deps, "premium_business", T0)
    to = new_member(deps, "basic", T0)

    def send() -> str:
        sent = send_inmail(
            deps,
            sender_id=sender,
            to=to,
            subject="Hello",
            body="A role you may like",
            now=T0,
            idempotency_key="k-1",
        )
        return sent.id

    message_id = send()
    before = _count_events(deps)
    assert send() == message_id
    assert _count_events(deps) == before  # the replay wrote nothing
    (sent,) = [d for _, d in _events(deps, sender, "inmail.sent")]
    assert sent["message_id"] == message_id
    assert (sent["recipient_id"], sent["kind"], sent["cost"], sent["spend_reference"]) == (
        to,
        "inmail",
        1,
        f"inmail:{message_id}",
    )
    (told,) = [d for _, d in _events(deps, to, "notification.created")]
    assert (told["kind"], told["reference"]) == ("new_inmail", f"thread:{sent['thread_id']}")
    _assert_every_change_told(deps)


def _sent(deps: Deps, sender: str, to: str) -> str:
    return send_inmail(
        deps, sender_id=sender, to=to, subject="Hello", body="A role you may like", now=T0
    ).thread_id


def test_a_reply_and_a_decline_are_told_as_responses(deps: Deps) -> None:
    sender = new_member(deps, "premium_business", T0)
    replier, decliner = new_member(deps, "basic", T0), new_member(deps, "basic", T0)
    answered, declined = _sent(deps, sender, replier), _sent(deps, sender, decliner)
    reply = post_in_thread(deps, member_id=replier, thread_id=answered, body="Tell me", now=T0)
    decline(
        deps,
        member_id=decliner,
        thread_id=declined,
        now=T0,
        reason=DeclineReason.NOT_NOW,
    )
    assert _events(deps, replier, "inmail.responded") == [
        (
            "inmail.responded",
            {
                "thread_id": answered,
                "sender_id": sender,
                "response": "reply",
                "message_id": reply.id,
                "decline_reason": None,
            },
        )
    ]
    ((_, no),) = _events(deps, decliner, "inmail.responded")
    assert (no["response"], no["message_id"], no["decline_reason"]) == ("decline", None, "not_now")
    notices = [d["kind"] for _, d in _events(deps, sender, "notification.created")]
    assert sorted(notices) == ["decline", "reply"]
    _assert_every_change_told(deps)


def test_a_notice_written_once_is_told_once(deps: Deps) -> None:
    member = new_member(deps, "basic", T0)
    notice = {
        "member_id": member,
        "at": T0,
        "kind": "follow_up_due",
        "text": "A follow-up is due",
        "reference": "thread:th_1",
        "once_key": "follow-up:th_1",
    }
    for _ in range(2):
        with deps.db.write() as conn:
            message_store.notify_once(conn, **notice)
    assert _events(deps, member) == [
        (
            "notification.created",
            {"kind": "follow_up_due", "text": "A follow-up is due", "reference": "thread:th_1"},
        )
    ]


def test_the_audit_names_a_ledger_entry_or_charge_written_without_its_event(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    assert run_audit(deps) == []
    with deps.db.read() as conn:
        lot_id = conn.execute(select(ledger_entries.c.lot_id)).scalars().first()
    with deps.db.write() as conn:  # a write path that forgot the outbox
        conn.execute(
            insert(ledger_entries).values(
                member_id=member,
                lot_id=lot_id,
                kind="adjustment",
                amount=0,
                balance_after=25,
                at=T0,
                reference="adjustment:silent",
            )
        )
        conn.execute(
            insert(charges).values(
                id="ch_silent",
                member_id=member,
                kind="pack",
                credits=5,
                amount_minor=100,
                currency="USD",
                at=T0,
                reference="silent",
            )
        )
    problems = run_audit(deps)
    assert f"member {member}: 2 ledger entries but 1 ledger.entry_created events" in problems
    assert f"member {member}: 2 charges but 1 charge.created events" in problems


def test_history_from_before_the_outbox_is_not_counted(deps: Deps) -> None:
    """Entries and charges older than the first that has an event predate migration 0017."""
    member = new_member(deps, "premium_business", T0)
    with deps.db.write() as conn:
        conn.execute(outbox_events.delete())
    assert run_audit(deps) == []
    spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=T0)
    assert run_audit(deps) == []


def test_concurrent_spends_tell_exactly_the_spends_that_went_through(deps: Deps) -> None:
    """Eight threads spend from one account until it runs dry: every spend that committed has
    its one event, the refused ones none."""
    member = new_member(deps, "premium_business", T0)  # 25 credits
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)

    def spend_some(worker: int) -> int:
        done = 0
        for n in range(5):
            try:
                spend_credits(
                    deps, member_id=member, cost=1, reference=f"inmail:{worker}:{n}", now=T0
                )
            except InsufficientCredits:
                continue
            done += 1
        return done

    with ThreadPoolExecutor(8) as pool:
        spent = sum(pool.map(spend_some, range(8)))
    assert spent == 25
    spends = [d for _, d in _events(deps, member, "ledger.entry_created") if d["kind"] == "spend"]
    assert len({d["reference"] for d in spends}) == len(spends) == 25
    assert sorted(d["balance_after"] for d in spends) == list(range(25))
    _assert_every_change_told(deps)
