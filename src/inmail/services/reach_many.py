"""What is true between a member and many others at once: :func:`reach.gather_reach` in batch.

A page of search results needs the reach to each member on it. One
``gather_reach`` per row would cost a dozen queries a row; :func:`reaches`
reads each fact once for the whole page (``store.reach``) and builds the very
same :class:`Reach` for every row, free routes and all (tests/integration/
test_search_reach.py holds it to that, on random small graphs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from inmail.domain.messaging import Reach
from inmail.domain.network import Visibility, visible_to
from inmail.services.context import Deps
from inmail.services.reach import (
    MUTUALS_SHOWN,
    contact_route,
    group_route,
    introduction_route,
    mention_route,
)
from inmail.store import reach as reach_store
from inmail.store.accounts import Account
from inmail.store.reach import Recipient


@dataclass(frozen=True, slots=True)
class Reached:
    """The reach to one member, and their degree (1, 2, or 3 for the 3rd or further)."""

    degree: int
    reach: Reach


def recipients(conn: Connection, ids: Sequence[str]) -> dict[str, Recipient]:
    """The members among ``ids`` (unknown ids are left out), with their stored plan."""
    return reach_store.recipients(conn, ids)


def reaches(
    deps: Deps, conn: Connection, sender: Account, found: dict[str, Recipient]
) -> dict[str, Reached]:
    """The :class:`Reached` for each of ``found`` (from :func:`recipients`), in 8 queries.

    As :func:`reach.gather_reach` with its routes: the recipients' plans are
    the ones read, so callers catch up those with a renewal due first (their
    Open Profile needs the plan they are on now). The sender is not among them.
    """
    me, ids = sender.member_id, list(found)
    connected = reach_store.connected_among(conn, me, ids)
    mutuals = reach_store.mutuals_among(
        conn, me, ids
    )  # introductions are offered to connections too
    blocked = reach_store.blocked_among(conn, me, ids)
    free = [i for i in ids if i not in blocked]
    talking = reach_store.conversing_among(conn, me, free)
    groups = reach_store.shared_groups_among(conn, me, free)
    contacts = reach_store.contact_fields_among(conn, free)
    introducers = sorted({m for i in free for m in mutuals.get(i, [])[:MUTUALS_SHOWN]})
    names = reach_store.names_of(conn, introducers)
    plan_of = deps.plans.lookup(conn)
    reached: dict[str, Reached] = {}
    for member_id, recipient in found.items():
        plan = plan_of(recipient.plan_code, recipient.plan_version)
        is_connected = member_id in connected
        shared = mutuals.get(member_id, [])
        degree = 1 if is_connected else (2 if shared else 3)
        reach = Reach(
            sender_plan=sender.subscription.plan,
            connected=is_connected,
            blocked=member_id in blocked,
            recipient_accepts_inmail=recipient.inmail_open,
            recipient_open_profile=recipient.open_profile and plan.is_paid,
            open_conversation=False,
        )
        if not reach.blocked:
            in_groups = groups.get(member_id, [])
            routes = [group_route(g) for g in in_groups] if recipient.group_messages_open else []
            routes += [introduction_route(*names[m]) for m in shared[:MUTUALS_SHOWN] if m in names]
            routes += _contact_routes(contacts.get(member_id, []), degree)
            routes.append(mention_route(recipient.handle))
            reach = Reach(
                sender_plan=reach.sender_plan,
                connected=reach.connected,
                blocked=False,
                recipient_accepts_inmail=reach.recipient_accepts_inmail,
                recipient_open_profile=reach.recipient_open_profile,
                open_conversation=member_id in talking,
                group_peer=bool(in_groups) and recipient.group_messages_open,
                free_routes=tuple(routes),
            )
        reached[member_id] = Reached(degree, reach)
    return reached


def _contact_routes(fields: list[tuple[str, str, str]], degree: int) -> list[tuple[str, str]]:
    return [
        contact_route(field, value)
        for field, value, visibility in fields
        if visible_to(Visibility(visibility), is_self=False, degree=degree)
    ]
