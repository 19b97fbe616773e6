"""The worker's notice sweep: which members may have a notification due (SQL only).

The rules deciding what is due are domain.notices'; these queries only narrow
the members to compute them for, by indexes, a chunk at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, and_, cast, exists, func, literal, or_, select

from inmail.store.accounts import HELD_BY_MEMBER
from inmail.store.tables import AWAITING_INMAIL, accounts, lots, notifications, plans, threads


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    id: int
    remaining: int
    expires_at: datetime | None


def lots_expiring_by(conn: Connection, member_id: str, until: datetime) -> list[ExpiringLot]:
    """The member's lots holding credits that expire at or before ``until``, by id (by the
    member's index of lots: every lot, however many, not the credits overview's first ones)."""
    query = (
        select(lots.c.id, lots.c.remaining, lots.c.expires_at)
        .where(lots.c.member_id == member_id, lots.c.remaining > 0, lots.c.expires_at <= until)
        .order_by(lots.c.id)
    )
    return [ExpiringLot(r.id, r.remaining, r.expires_at) for r in conn.execute(query)]


def shortest_followup_wait_days(conn: Connection) -> int | None:
    """The shortest ``followup_after_days`` of any plan version (None: no plans)."""
    found = conn.execute(select(func.min(plans.c.followup_after_days))).scalar_one()
    return None if found is None else int(found)


def members_to_check(
    conn: Connection,
    *,
    after: str | None,
    limit: int,
    warn_until: datetime,
    low_balance: int,
    followups_from: datetime | None,
) -> list[str]:
    """Up to ``limit`` member ids above ``after``, in id order, that may have a notice due:

    - something happens to their account by ``warn_until`` (a renewal or a lot's expiry:
      ``accounts.next_due_at``, which is the earliest of them);
    - a balance of at most ``low_balance`` on a plan with an allotment;
    - an InMail thread they started that awaits a response, was last sent to at or before
      ``followups_from`` (None: no wait can be over), may still get a follow-up under
      their plan, and has no "follow-up due" notice for its count of follow-ups yet.

    A superset of those with something due (the domain decides); it walks the accounts by
    their key, the threads by the partial index of awaiting InMails (by initiator) and
    the notifications by their unique ``once_key``.
    """
    # The same key as domain.notices.followup_once_key, built in SQL for the anti-join.
    once_key = (
        literal("follow-up-due:", String)
        + threads.c.id
        + literal(":", String)
        + cast(threads.c.followups_sent, String)
    )
    reasons = [
        accounts.c.next_due_at <= warn_until,
        and_(accounts.c.balance <= low_balance, plans.c.monthly_allotment > 0),
    ]
    if followups_from is not None:
        reasons.append(
            exists().where(
                threads.c.initiator_id == accounts.c.member_id,
                AWAITING_INMAIL,
                threads.c.last_inmail_at <= followups_from,
                threads.c.followups_sent < plans.c.max_followups,
                ~exists().where(notifications.c.once_key == once_key),
            )
        )
    query = (
        select(accounts.c.member_id)
        .select_from(
            accounts.join(
                plans,
                and_(
                    plans.c.code == accounts.c.plan_code,
                    plans.c.version == accounts.c.plan_version,
                ),
            )
        )
        .where(or_(*reasons), HELD_BY_MEMBER)  # a team's pool has nobody to notify
        .order_by(accounts.c.member_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(accounts.c.member_id > after)
    return list(conn.execute(query).scalars())
