"""Plan changes (SPEC §6) and the member's view of their subscription."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.billing import ChangeKind, Subscription, catch_up, classify_change, subscribe
from inmail.domain.billing import upgrade as upgrade_rule
from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.services.context import (
    Deps,
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


def view_of(
    sub: Subscription, now: datetime, change: ChangeKind = ChangeKind.NONE
) -> SubscriptionView:
    cycle = sub.current_cycle(now)
    return SubscriptionView(
        plan=sub.plan.code,
        pending_plan=sub.pending_plan,
        anchor=sub.anchor,
        cycle_start=None if cycle is None else cycle.start,
        cycle_end=None if cycle is None else cycle.end,
        change=change.value,
    )


def change_plan(
    deps: Deps, *, member_id: str, plan: str, now: datetime, idempotency_key: str | None = None
) -> SubscriptionView:
    """Move a member to ``plan``: now (subscribe, upgrade) or at the next cycle start."""
    require_utc(now)

    def effect(conn: Connection) -> SubscriptionView:
        in_force = plans_in_force(conn)
        target = in_force(plan, now)
        opened = lock_and_catch_up(deps, conn, member_id, now)
        sub = opened.account.subscription
        change = classify_change(sub, target)
        if change is ChangeKind.SUBSCRIBE:
            subscribe(sub, target, new_id("sub"), now)
            opened.renewals += catch_up(opened.book, sub, in_force, now)
        elif change is ChangeKind.UPGRADE:
            upgrade_rule(opened.book, sub, target, now)
        elif change is ChangeKind.SCHEDULED:
            sub.pending_plan = target.code
        elif change is ChangeKind.UNSCHEDULED:
            sub.pending_plan = None
        opened.save()
        return view_of(sub, now, change)

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
        ]
    )


def _decode(text: str) -> SubscriptionView:
    plan, pending, anchor, start, end, change = json.loads(text)

    def parse(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    anchor_at = parse(anchor)
    assert anchor_at is not None
    return SubscriptionView(plan, pending, anchor_at, parse(start), parse(end), change)


def get_subscription(deps: Deps, *, member_id: str, now: datetime) -> SubscriptionView:
    return view_of(current_account(deps, member_id, now).subscription, now)
