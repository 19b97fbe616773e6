"""What the search endpoints answer (issue 10 §1): members with the cheapest way to reach them,
groups with their size."""

from __future__ import annotations

from typing import Literal

from inmail.api.schemas import GroupOut, MemberViewOut, Price


class FoundMemberOut(MemberViewOut):
    """A member as ``GET /v1/members/{id}`` shows them (``degree``: 1, 2, or 3 for the 3rd
    or further), with what ``GET /v1/me/quote?to=`` would answer for them."""

    channel: Literal[
        "message", "inmail", "open_profile", "group_message", "conversation", "introduction"
    ]
    cost_credits: int
    allowed: bool
    reason: str
    overage_charge: Price | None


class FoundGroupOut(GroupOut):
    member_count: int
    membership: Literal["member", "pending"] | None  # the caller's; pending: asked to join
