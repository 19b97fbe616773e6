"""Plan changes (SPEC §6) and the member's view of their subscription."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.billing import Subscription
from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.money import Money
from inmail.domain.plan_changes import ChangeKind, ChangePreview
from inmail.domain.plan_changes import change_plan as change_rule
from inmail.domain.plan_changes import preview_change as preview_rule
from inmail.domain.purchases import check_agreed_charge
from inmail.services.context import (
    Deps,
    account_in_memory,
    current_account,
    lock_and_catch_up,
    plans_in_force,
)
from inmail.services.idempotency import idempotent


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    plan: str
    pending_plan: str | None
    anchor: datetime
    cycle_start: datetime | None
    cycle_end: datetime | None
    change: str = ChangeKind.NONE.value
    granted: int = 0  # credits the change granted at once
    charged: Money | None = None  # what the change charged at once


def view_of(
    sub: Subscription,
    now: datetime,
    change: ChangeKind = ChangeKind.NONE,
    granted: int = 0,
    charged: Money | None = None,
) -> SubscriptionView:
    cycle = sub.current_cycle(now)
    return SubscriptionView(
        plan=sub.plan.code,
        pending_plan=sub.pending_plan,
        anchor=sub.anchor,
        cycle_start=None if cycle is None else cycle.start,
        cycle_end=None if cycle is None else cycle.end,
        change=change.value,
        granted=granted,
        charged=charged,
    )


def change_plan(
    deps: Deps,
    *,
    member_id: str,
    plan: str,
    now: datetime,
    idempotency_key: str | None = None,
    agreed_minor: int | None = None,
) -> SubscriptionView:
    """Move a member to ``plan``: now (subscribe, upgrade) or at the next cycle start.

    ``agreed_minor`` is the charge the member was shown (a confirm page; 0:
    none): a change that would now bill more is refused with CostChanged and
    nothing is written (None: whatever the rules bill).
    """
    require_utc(now)

    def effect(conn: Connection) -> SubscriptionView:
        in_force = plans_in_force(conn)
        target = in_force(plan, now)
        opened = lock_and_catch_up(deps, conn, member_id, now)
        sub = opened.account.subscription
        done = change_rule(opened.book, sub, target, in_force, now, new_id("sub"))
        check_agreed_charge(done.charged, agreed_minor, "this plan change")
        opened.renewals += done.renewals
        opened.save()
        return view_of(sub, now, done.kind, done.granted, done.charged)

    return idempotent(
        deps,
        member_id=member_id,
        scope=f"subscription:{member_id}",
        key=idempotency_key,
        request={"plan": plan},
        now=now,
        effect=effect,
        encode=_encode,
        decode=_decode,
    )


def _encode(view: SubscriptionView) -> str:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return json.dumps(
        [
            view.plan,
            view.pending_plan,
            iso(view.anchor),
            iso(view.cycle_start),
            iso(view.cycle_end),
            view.change,
            view.granted,
            None if view.charged is None else [view.charged.amount_minor, view.charged.currency],
        ]
    )


def _decode(text: str) -> SubscriptionView:
    # Answers stored before the change's credits and charge were recorded have 6 fields.
    plan, pending, anchor, start, end, change, *what = json.loads(text)
    granted, charged = what if what else (0, None)

    def parse(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    anchor_at = parse(anchor)
    assert anchor_at is not None
    money = None if charged is None else Money(charged[0], charged[1])
    return SubscriptionView(
        plan, pending, anchor_at, parse(start), parse(end), change, granted, money
    )


def get_subscription(deps: Deps, *, member_id: str, now: datetime) -> SubscriptionView:
    return view_of(current_account(deps, member_id, now).subscription, now)


def preview_change(deps: Deps, *, member_id: str, plan: str, now: datetime) -> ChangePreview:
    """What :func:`change_plan` to ``plan`` would grant, charge and forfeit at ``now``.

    Read-only: the account is caught up to ``now`` in memory (due renewals and
    expiries applied, as the change itself would first do) and nothing is
    written. Raises UnknownPlan, UnknownMember.
    """
    require_utc(now)
    with deps.db.read() as conn:
        in_force = plans_in_force(conn)
        target = in_force(plan, now)
        account, book = account_in_memory(deps, conn, member_id, now)
        return preview_rule(book, account.subscription, target, in_force, now)
