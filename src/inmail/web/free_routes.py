"""Compose's free ways to reach someone, each a link that starts it (SPEC §7).

The quote names each route as (channel, detail); the page turns each into
words and the page where it begins: the group to message them in, their
profile where a mutual connection is asked for an introduction, a post that
already mentions them. Contact details stay text: they lead outside inmail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from inmail.services import groups
from inmail.services.context import Deps
from inmail.store.members import MemberRecord

GROUP_PREFIX = "message them in the group "

# How the compose page names a free channel (the quote's reason says "free: …" first).
WHY_FREE = {
    "message": "you are connected (1st degree): a message to them costs nothing",
    "conversation": "you have an open conversation with them",
    "group_message": "you share a group that allows messages",
    "open_profile": "their profile is open: InMail to them costs nothing",
}


@dataclass(frozen=True, slots=True)
class FreeRoute:
    """A free route as shown: ``text``, and ``href`` to start it (None: nothing to open)."""

    channel: str
    text: str
    href: str | None


def free_routes(
    deps: Deps, member_id: str, recipient: MemberRecord, routes: Sequence[tuple[str, str]]
) -> list[FreeRoute]:
    """The quote's ``routes`` to ``recipient`` as words and links, in the quote's order."""
    group_ids: dict[str, str] = {}
    if any(channel == "group_message" for channel, _ in routes):
        group_ids = {g.name: g.id for g, _ in groups.my_groups(deps, member_id=member_id)}
    return [_route(channel, detail, recipient, group_ids) for channel, detail in routes]


def _route(
    channel: str, detail: str, recipient: MemberRecord, group_ids: dict[str, str]
) -> FreeRoute:
    text = detail[:1].upper() + detail[1:]
    if channel == "group_message":
        group = group_ids.get(detail.removeprefix(GROUP_PREFIX))
        return FreeRoute(channel, text, f"/groups/{quote(group)}" if group else "/groups")
    if channel == "introduction":
        return FreeRoute(channel, text, f"/members/{quote(recipient.id)}#mutual")
    if channel == "mention":
        return FreeRoute(channel, text, f"/feed?mention={quote(recipient.handle)}#write-heading")
    return FreeRoute(channel, text, None)
