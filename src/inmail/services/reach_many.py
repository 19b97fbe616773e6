"""What is true between a member and many others at once: :func:`reach.gather_reach` in batch.

A page of search results needs the reach to each member on it. One
``gather_reach`` per row would cost a dozen queries a row; :func:`reaches`
reads every fact for the whole page in one query (``store.reach.facts``) and
builds the very same :class:`Reach` for every row, free routes and all (tests/integration/
test_search_reach.py holds it to that, on random small graphs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from inmail.store.reach import Facts, Recipient


@dataclass(frozen=True, slots=True)
class Reached:
    """The reach to one member, and their degree (1, 2, or 3 for the 3rd or further)."""

    degree: int
    reach: Reach


def recipients(conn: Connection, ids: Sequence[str]) -> dict[str, Recipient]:
    """The members among ``ids`` (unknown ids are left out), with their stored plan."""
    return reach_store.recipients(conn, ids)


def reaches(
    deps: Deps, conn: Connection, sender: Account, found: Mapping[str, Recipient]
) -> dict[str, Reached]:
    """The :class:`Reached` for each of ``found`` (from :func:`recipients`), in one query
    (``store.reach.facts``, the awaiting InMails too).

    As :func:`reach.gather_reach` with its routes: the recipients' plans are
    the ones read, so callers catch up those with a renewal due first (their
    Open Profile needs the plan they are on now). The sender is not among them.
    """
    known = reach_store.facts(conn, sender.member_id, list(found))
    plan_of = deps.plans.lookup(conn)
    reached: dict[str, Reached] = {}
    for member_id, recipient in found.items():
        plan = plan_of(recipient.record.plan, recipient.plan_version)
        connected = member_id in known.connected
        degree = 1 if connected else (2 if known.mutuals.get(member_id) else 3)
        blocked = member_id in known.blocked
        # As gather_reach: the sender's InMail still awaiting a response makes a new one
        # refused, and nobody blocked either way has a route, free or not.
        asks_inmail = not (connected or blocked or not recipient.inmail_open)
        in_groups = [] if blocked else known.groups.get(member_id, [])
        reach = Reach(
            sender_plan=sender.subscription.plan,
            connected=connected,
            blocked=blocked,
            you_blocked=member_id in known.you_blocked,
            recipient_accepts_inmail=recipient.inmail_open,
            recipient_open_profile=recipient.open_profile and plan.is_paid,
            open_conversation=not blocked and member_id in known.conversing,
            group_peer=bool(in_groups) and recipient.group_messages_open,
            free_routes=() if blocked else _free_routes(recipient, known, member_id, degree),
            awaiting=known.awaiting.get(member_id) if asks_inmail else None,
        )
        reached[member_id] = Reached(degree, reach)
    return reached


def _free_routes(
    recipient: Recipient, known: Facts, member_id: str, degree: int
) -> tuple[tuple[str, str], ...]:
    """Every free route to someone not blocked: shared groups, introductions, contact info
    and a mention, in the order :func:`reach.gather_reach` gives them."""
    in_groups = known.groups.get(member_id, [])
    routes = [group_route(g) for g in in_groups] if recipient.group_messages_open else []
    shared = known.mutuals.get(member_id, [])[:MUTUALS_SHOWN]
    routes += [introduction_route(name, handle) for _, name, handle in shared]
    routes += [
        contact_route(field, value)
        for field, value, visibility in known.contact.get(member_id, [])
        if visible_to(Visibility(visibility), is_self=False, degree=degree)
    ]
    routes.append(mention_route(recipient.record.handle))
    return tuple(routes)
