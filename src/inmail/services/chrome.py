"""What every signed-in web page shows around its content, read in one statement.

The member, the navigation's unread counts, the member's time zone (every date on the
page is shown in it) and their standing banner were five statements, each built per page
and each in a read transaction of its own (1.2 ms of CPU a page on SQLite); one prebuilt
statement reads them all (store/chrome.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownMember
from inmail.services.context import Deps, is_due
from inmail.services.members import get_member
from inmail.services.reputation import Banner, banner_of
from inmail.store.chrome import read_chrome
from inmail.store.members import MemberRecord


@dataclass(frozen=True, slots=True)
class PageChrome:
    """The signed-in ``member`` (with the plan they are on at the page's moment), their
    unread threads (archived aside) and notifications, their ``time_zone`` (an IANA name,
    "UTC" when unset) and their standing ``banner`` (None: in good standing)."""

    member: MemberRecord
    unread_threads: int
    unread_notices: int
    time_zone: str
    banner: Banner | None


def page_chrome(deps: Deps, *, member_id: str, now: datetime) -> PageChrome:
    """The chrome of a page seen by ``member_id`` at ``now`` (UTC), in one read transaction.

    A member whose renewal is due is caught up first (as :func:`get_member` does: SPEC §2,
    never a stale plan shown) and the chrome read again, since a renewal may notify.
    Raises UnknownMember.
    """
    require_utc(now)
    chrome = _read(deps, member_id, now)
    if is_due(chrome.member.plan_due_at, now):
        get_member(deps, member_id, now=now)
        chrome = _read(deps, member_id, now)
    return chrome


def _read(deps: Deps, member_id: str, now: datetime) -> PageChrome:
    with deps.db.read() as conn:
        found = read_chrome(conn, member_id)
    if found is None:
        raise UnknownMember(f"there is no member {member_id!r}")
    return PageChrome(
        found.member,
        found.unread_threads,
        found.unread_notices,
        found.time_zone or "UTC",
        banner_of(found.standing, deps.reputation, now),
    )
