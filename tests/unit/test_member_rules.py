"""The pure rules of members and settings: invitation links, time zones, and a block by the
sender told as such."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inmail.domain.errors import (
    InvitationLinkExpired,
    InvitationLinkUsed,
    RecipientBlockedByYou,
    RecipientNotAcceptingInmail,
    ValidationError,
)
from inmail.domain.invitation_links import MAX_DAYS, check_usable, expires_at
from inmail.domain.messaging import cheapest_route, inmail_route
from inmail.domain.profile import check_time_zone
from tests.unit.test_messaging_rules import reach

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def test_a_link_works_until_its_expiry_and_only_once() -> None:
    until = expires_at(T0, 7)
    assert until == T0 + timedelta(days=7)
    check_usable(expires=until, used_at=None, now=until - timedelta(seconds=1))
    with pytest.raises(InvitationLinkExpired, match="has expired"):
        check_usable(expires=until, used_at=None, now=until)
    with pytest.raises(InvitationLinkUsed, match="already used"):
        check_usable(expires=until, used_at=T0, now=T0 + timedelta(hours=1))
    # Used, then expired: the member hears that it was used (they have a password).
    with pytest.raises(InvitationLinkUsed):
        check_usable(expires=until, used_at=T0, now=until + timedelta(days=1))


@pytest.mark.parametrize("days", [0, -1, MAX_DAYS + 1])
def test_a_link_lasts_one_to_ninety_days(days: int) -> None:
    with pytest.raises(ValidationError, match="1 to 90 days"):
        expires_at(T0, days)


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert check_time_zone(name) == name


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "Europe/Paris ", "x" * 65, 3]
)
def test_anything_else_is_refused_naming_the_field(name: object) -> None:
    with pytest.raises(ValidationError) as refused:
        check_time_zone(name)
    assert refused.value.field == "time_zone"


def test_a_sender_who_blocked_the_recipient_is_told_so() -> None:
    mine = reach(blocked=True, you_blocked=True)
    for rule in (inmail_route, cheapest_route):
        with pytest.raises(RecipientBlockedByYou, match="you blocked this member"):
            rule(mine)
    # Blocked by the recipient: the words never reveal it.
    with pytest.raises(RecipientNotAcceptingInmail, match="does not accept InMail from you"):
        cheapest_route(reach(blocked=True))
