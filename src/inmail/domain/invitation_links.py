"""Invitation (password-set) links: when one may still be used (docs/rules.md, "Members and
settings").

A link is issued by the operator for one member, works once, and expires a set
number of days after it is issued. Pure: the caller passes ``now`` (UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from inmail.domain.cycles import require_utc
from inmail.domain.errors import InvitationLinkExpired, InvitationLinkUsed, ValidationError

DEFAULT_DAYS = 7
MAX_DAYS = 90


def expires_at(issued_at: datetime, days: int) -> datetime:
    """When a link issued at ``issued_at`` stops working: ``days`` (1 to MAX_DAYS) later."""
    require_utc(issued_at)
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"an invitation link lasts 1 to {MAX_DAYS} days", field="days")
    return issued_at + timedelta(days=days)


def check_usable(*, expires: datetime, used_at: datetime | None, now: datetime) -> None:
    """Raise InvitationLinkUsed for a used link, InvitationLinkExpired for one past ``expires``
    (a used link says so even when it has expired since: that is what the member needs to hear)."""
    require_utc(now)
    if used_at is not None:
        raise InvitationLinkUsed(
            "this invitation link was already used: sign in with the password you set, "
            "or ask the operator for a new link"
        )
    if now >= expires:
        raise InvitationLinkExpired(
            "this invitation link has expired: ask the operator for a new one"
        )
