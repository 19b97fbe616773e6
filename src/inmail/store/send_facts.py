"""What a new InMail reads about its recipient under the sender's lock, in the spend's
own statement (store.fast_spend.Facts): one round trip, inside the write transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inmail.domain.messaging import Reach
from inmail.domain.plans import Plan
from inmail.store.fast_spend import Facts

# Each a scalar: the recipient's account and settings, blocks either way, the connection,
# and whether an InMail from the sender already awaits their response (migration 0008's
# partial index serves it). NULLs say the recipient does not exist.
_EXPRESSIONS = (
    "(SELECT plan_code FROM accounts WHERE member_id = %(to)s)",
    "(SELECT plan_version FROM accounts WHERE member_id = %(to)s)",
    "(SELECT CASE WHEN next_due_at IS NOT NULL AND next_due_at <= %(at)s THEN 1 ELSE 0 END "
    "FROM accounts WHERE member_id = %(to)s)",
    "(SELECT inmail_open FROM members WHERE id = %(to)s)",
    "(SELECT open_profile FROM members WHERE id = %(to)s)",
    "EXISTS (SELECT 1 FROM blocks WHERE blocker_id = %(sender)s AND blocked_id = %(to)s)",
    "EXISTS (SELECT 1 FROM blocks WHERE blocker_id = %(to)s AND blocked_id = %(sender)s)",
    "EXISTS (SELECT 1 FROM connections WHERE a = %(a)s AND b = %(b)s)",
    "EXISTS (SELECT 1 FROM threads WHERE initiator_id = %(sender)s AND recipient_id = %(to)s "
    "AND kind = 'inmail' AND status = 'awaiting_response')",
    # A send ban (services.reputation): the general path words the refusal.
    "EXISTS (SELECT 1 FROM sender_standings WHERE member_id = %(sender)s "
    "AND suspended_until > %(at)s)",
)


def send_facts(sender_id: str, recipient_id: str, now: datetime) -> Facts:
    """The facts a new InMail from ``sender_id`` to ``recipient_id`` decides on (UTC ``now``)."""
    a, b = sorted((sender_id, recipient_id))  # connections are stored once, a < b
    params = {"sender": sender_id, "to": recipient_id, "at": now, "a": a, "b": b}
    return Facts(_EXPRESSIONS, params)


@dataclass(frozen=True, slots=True)
class SendFacts:
    """The values of :func:`send_facts`, as read."""

    recipient_plan: tuple[str, int] | None  # None: no such member
    recipient_due: bool  # a renewal of theirs is due: their plan may change first
    inmail_open: bool
    open_profile: bool
    sender_blocked: bool  # the sender blocked the recipient
    recipient_blocked: bool  # the recipient blocked the sender
    connected: bool
    awaiting: bool  # an InMail from the sender awaits their response
    suspended: bool  # the sender is banned from sending InMail now (SPEC §10)

    @classmethod
    def of(cls, values: tuple[Any, ...]) -> SendFacts:
        code, version, due, inmail_open, open_profile, *flags = values
        sender_blocked, recipient_blocked, connected, awaiting, suspended = (bool(f) for f in flags)
        return cls(
            None if code is None or version is None else (code, int(version)),
            bool(due),
            bool(inmail_open),
            bool(open_profile),
            sender_blocked,
            recipient_blocked,
            connected,
            awaiting,
            suspended,
        )

    def reach(self, sender_plan: Plan, recipient_plan: Plan) -> Reach:
        """The :class:`Reach` the send rules decide on (no free routes: the hot path sends
        only on a plan with InMail; nothing awaiting: the caller checks that first)."""
        blocked = self.sender_blocked or self.recipient_blocked
        return Reach(
            sender_plan=sender_plan,
            connected=self.connected,
            blocked=blocked,
            recipient_accepts_inmail=self.inmail_open,
            recipient_open_profile=self.open_profile and recipient_plan.is_paid,
            open_conversation=False,
            you_blocked=self.sender_blocked,
        )
