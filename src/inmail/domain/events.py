"""Events for the outbox: what changed, told to operators' systems (docs/events.md).

An event is written in the same transaction as the change it tells of
(store/outbox.py), so it exists if and only if the change committed. Its ``id``
is fixed when it is made and never changes: a webhook delivered twice carries
the same id, and receivers deduplicate on it.

Pure: no I/O, no clock (``at`` is the change's own time, UTC).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from inmail.domain.billing import Renewal
from inmail.domain.credits import Charge, Entry, new_id
from inmail.domain.teams import Seat, Team

EVENT_ID_PREFIX = "evt"


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``type`` (``"charge.created"``…), whose change (``member_id``; None for the
    operator's own changes), when (``at``, UTC) and its ``data`` (JSON-ready values; datetimes
    are written as ISO 8601 UTC texts)."""

    type: str
    member_id: str | None
    at: datetime
    data: Mapping[str, Any]
    id: str = field(default_factory=lambda: new_id(EVENT_ID_PREFIX))


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return utc_text(value)
    raise TypeError(f"an event's data holds a {type(value).__name__}, not JSON")


def utc_text(moment: datetime) -> str:
    """``2026-11-30T00:40:00Z``: the API's way of writing a UTC moment."""
    if moment.tzinfo is None:
        raise ValueError("an event's time must be aware (UTC)")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload_text(event: Event) -> str:
    """The stored payload: ``data`` as compact JSON with sorted keys (raises TypeError when a
    value is not JSON, so a bad event fails its transaction instead of being stored)."""
    return json.dumps(dict(event.data), default=_json_value, sort_keys=True, separators=(",", ":"))


def envelope(
    event_id: str, event_type: str, member_id: str | None, at: datetime, data: object
) -> dict[str, Any]:
    """The JSON object a receiver gets (webhook body, ``GET /v1/admin/events`` item):
    ``{id, type, member_id, at, data}``."""
    return {
        "id": event_id,
        "type": event_type,
        "member_id": member_id,
        "at": utc_text(at),
        "data": data,
    }


# The event types (docs/events.md holds each one's schema and an example). A type's data only
# ever gains keys; a changed meaning gets a new type.
CHARGE_CREATED = "charge.created"
LEDGER_ENTRY_CREATED = "ledger.entry_created"
CREDITS_RENEWED = "credits.renewed"
NOTIFICATION_CREATED = "notification.created"
INMAIL_SENT = "inmail.sent"
INMAIL_RESPONDED = "inmail.responded"
INMAIL_REPORTED = "inmail.reported"
MEMBER_WARNED = "member.warned"
MEMBER_BULK_SENDING_OFF = "member.bulk_sending_off"
MEMBER_SUSPENDED = "member.suspended"
MEMBER_APPEAL_DECIDED = "member.appeal_decided"
TEAM_CREATED = "team.created"
TEAM_CHANGED = "team.changed"
SEAT_ASSIGNED = "seat.assigned"
SEAT_REMOVED = "seat.removed"
SEAT_CAP_CHANGED = "seat.cap_changed"
EVENT_TYPES = (
    CHARGE_CREATED,
    LEDGER_ENTRY_CREATED,
    CREDITS_RENEWED,
    NOTIFICATION_CREATED,
    INMAIL_SENT,
    INMAIL_RESPONDED,
    INMAIL_REPORTED,
    MEMBER_WARNED,
    MEMBER_BULK_SENDING_OFF,
    MEMBER_SUSPENDED,
    MEMBER_APPEAL_DECIDED,
    TEAM_CREATED,
    TEAM_CHANGED,
    SEAT_ASSIGNED,
    SEAT_REMOVED,
    SEAT_CAP_CHANGED,
)

# A ledger entry's id is the database's and is known only once its row is written. The hot
# path writes the entry and its event in one statement on PostgreSQL, so the event's payload
# is made with this placeholder and the statement puts the id in (store/fast_spend.py).
# Unambiguous: inside a JSON string a quote is escaped, so only the key itself matches.
ENTRY_ID_PLACEHOLDER = '"entry_id":0'


def entry_id_text(payload: str, entry_id: int) -> str:
    """``payload`` (of :func:`ledger_entry_created` with ``entry_id=0``) with the real id."""
    return payload.replace(ENTRY_ID_PLACEHOLDER, f'"entry_id":{entry_id}', 1)


def charge_created(member_id: str, charge: Charge) -> Event:
    """``charge.created``: money the member owes, for the operator's payment processor
    (SPEC §6): ``{charge_id, kind: subscription|pack|overage|proration, amount_minor
    (minor units), currency, credits (None: a subscription fee or proration), reference}``."""
    return Event(
        CHARGE_CREATED,
        member_id,
        charge.at,
        {
            "charge_id": charge.id,
            "kind": charge.kind.value,
            "amount_minor": charge.price.amount_minor,
            "currency": charge.price.currency,
            "credits": charge.credits,
            "reference": charge.reference,
        },
    )


def ledger_entry_created(member_id: str, entry: Entry, entry_id: int) -> Event:
    """``ledger.entry_created``: one ledger line (SPEC §3): ``{entry_id, kind: grant|spend|
    forfeit|expire|refund|adjustment, lot_id, lot_source, amount (signed credits),
    balance_after (credits), reference, seat_member_id?}`` (``seat_member_id``: on a team
    pool's lines that paid a seat's send); ``at`` is the entry's own time (an expiry's is
    its lot's expiry). Raises ValueError for an entry whose lot is not saved yet."""
    if entry.lot.id is None:
        raise ValueError("a ledger entry's event needs its lot's id: save the lot first")
    return Event(
        LEDGER_ENTRY_CREATED,
        member_id,
        entry.at,
        {
            "entry_id": entry_id,
            "kind": entry.kind.value,
            "lot_id": entry.lot.id,
            "lot_source": entry.lot.source.value,
            "amount": entry.amount,
            "balance_after": entry.balance_after,
            "reference": entry.reference,
            # A team pool's line paid for a seat's send names the seat (absent otherwise).
            **({} if entry.seat is None else {"seat_member_id": entry.seat}),
        },
    )


def credits_renewed(member_id: str, renewal: Renewal) -> Event:
    """``credits.renewed``: a cycle's renewal (SPEC §2): ``{subscription_id, cycle, plan_code,
    plan_version, granted, forfeited, plan_credits_after}`` (credits)."""
    return Event(
        CREDITS_RENEWED,
        member_id,
        renewal.at,
        {
            "subscription_id": renewal.subscription_id,
            "cycle": renewal.cycle,
            "plan_code": renewal.plan.code,
            "plan_version": renewal.plan.version,
            "granted": renewal.granted,
            "forfeited": renewal.forfeited,
            "plan_credits_after": renewal.plan_credits_after,
        },
    )


def notification_created(
    member_id: str, at: datetime, kind: str, text: str, reference: str
) -> Event:
    """``notification.created``: a notification written for ``member_id`` (SPEC §9):
    ``{kind, text, reference}``; ``kind`` names what happened (``new_inmail``, ``reply``,
    ``decline``, ``mention``, ``credits_renewed``, ``overage_purchase``… docs/events.md)."""
    return Event(
        NOTIFICATION_CREATED, member_id, at, {"kind": kind, "text": text, "reference": reference}
    )


def inmail_sent(
    sender_id: str,
    at: datetime,
    *,
    message_id: str,
    thread_id: str,
    recipient_id: str,
    kind: str,
    cost: int,
    spend_reference: str | None,
) -> Event:
    """``inmail.sent``: an InMail or a charged follow-up went out (SPEC §4): ``{message_id,
    thread_id, recipient_id, kind: inmail|followup, cost (credits), spend_reference}``."""
    return Event(
        INMAIL_SENT,
        sender_id,
        at,
        {
            "message_id": message_id,
            "thread_id": thread_id,
            "recipient_id": recipient_id,
            "kind": kind,
            "cost": cost,
            "spend_reference": spend_reference,
        },
    )


def inmail_responded(
    recipient_id: str,
    at: datetime,
    *,
    thread_id: str,
    sender_id: str,
    response: str,
    message_id: str | None,
    decline_reason: str | None,
) -> Event:
    """``inmail.responded``: the recipient replied to or declined an InMail (SPEC §5):
    ``{thread_id, sender_id, response: reply|decline, message_id (None for a decline),
    decline_reason (None unless a decline gave one)}``; the event is the recipient's."""
    return Event(
        INMAIL_RESPONDED,
        recipient_id,
        at,
        {
            "thread_id": thread_id,
            "sender_id": sender_id,
            "response": response,
            "message_id": message_id,
            "decline_reason": decline_reason,
        },
    )


def inmail_reported(
    reporter_id: str, at: datetime, *, thread_id: str, sender_id: str, reason: str
) -> Event:
    """``inmail.reported``: a recipient reported an InMail (SPEC §10): ``{thread_id,
    sender_id, reason: spam|not_relevant}``; the event is the reporter's."""
    return Event(
        INMAIL_REPORTED,
        reporter_id,
        at,
        {"thread_id": thread_id, "sender_id": sender_id, "reason": reason},
    )


def member_warned(
    member_id: str, at: datetime, *, sent: int, answered: int, floor: float, bulk_off_at: datetime
) -> Event:
    """``member.warned``: the member's response rate fell under the floor (SPEC §10):
    ``{sent, answered (InMails in the window), floor (a fraction), bulk_off_at (when bulk
    sending goes off if it persists)}``."""
    return Event(
        MEMBER_WARNED,
        member_id,
        at,
        {"sent": sent, "answered": answered, "floor": floor, "bulk_off_at": bulk_off_at},
    )


def member_bulk_sending_off(member_id: str, at: datetime, *, until: datetime, reason: str) -> Event:
    """``member.bulk_sending_off``: the rate stayed under the floor after the warning, so bulk
    sending is off (SPEC §10): ``{until, reason}``."""
    return Event(MEMBER_BULK_SENDING_OFF, member_id, at, {"until": until, "reason": reason})


def member_suspended(
    member_id: str,
    at: datetime,
    *,
    suspension_id: str,
    level: int,
    until: datetime,
    reason: str,
    reports: int,
) -> Event:
    """``member.suspended``: spam reports brought a send ban (SPEC §10): ``{suspension_id,
    level (the ladder's step, 1-based), until, reason, reports}``."""
    return Event(
        MEMBER_SUSPENDED,
        member_id,
        at,
        {
            "suspension_id": suspension_id,
            "level": level,
            "until": until,
            "reason": reason,
            "reports": reports,
        },
    )


def member_appeal_decided(
    member_id: str, at: datetime, *, suspension_id: str, outcome: str, lifted: bool
) -> Event:
    """``member.appeal_decided``: the operator accepted (the ban is lifted) or rejected a
    suspension's appeal: ``{suspension_id, outcome: accepted|rejected, lifted}``."""
    return Event(
        MEMBER_APPEAL_DECIDED,
        member_id,
        at,
        {"suspension_id": suspension_id, "outcome": outcome, "lifted": lifted},
    )


def team_created(team: Team) -> Event:
    """``team.created``: the operator made a team contract (SPEC §10): ``{team_id, name,
    plan_code, seats, pool_cap (credits; None: the plan's cap x seats), seat_overage}``;
    the event is the team's (``member_id`` is the team id, as for its pool's ledger)."""
    return team_event(TEAM_CREATED, team, team.created_at)


def team_event(event_type: str, team: Team, at: datetime) -> Event:
    """``team.created`` or ``team.changed`` (the operator's seats or pool cap, or the admins'
    seat overage, as they are after the change): the data of :func:`team_created`."""
    return Event(
        event_type,
        team.id,
        at,
        {
            "team_id": team.id,
            "name": team.name,
            "plan_code": team.plan_code,
            "seats": team.seats,
            "pool_cap": team.pool_cap,
            "seat_overage": team.seat_overage,
        },
    )


def seat_changed(event_type: str, seat: Seat, at: datetime) -> Event:
    """``seat.assigned`` / ``seat.removed`` / ``seat.cap_changed``: a seat as it is after the
    change (as it was, for a removal): ``{team_id, member_id, admin, monthly_cap (credits a
    calendar month; None: no cap)}``; the event is the team's."""
    return Event(
        event_type,
        seat.team_id,
        at,
        {
            "team_id": seat.team_id,
            "member_id": seat.member_id,
            "admin": seat.admin,
            "monthly_cap": seat.monthly_cap,
        },
    )
