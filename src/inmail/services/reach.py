"""Gathering what is true between two members, for the send rules and the cost preview."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.errors import UnknownMember, ValidationError
from inmail.domain.messaging import Reach
from inmail.domain.network import Visibility, visible_to
from inmail.services.context import Deps, current_account, is_due
from inmail.store import accounts as account_store
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store import social
from inmail.store.accounts import Account
from inmail.store.social import Group


def recipient_as_of(deps: Deps, sender: Account, recipient_id: str, now: datetime) -> Account:
    """The recipient's account with its due renewals applied (their Open Profile needs the
    plan they are on now, not the one their last visit left).

    In transactions of its own: call it before opening the one that gathers the reach.
    Raises ValidationError for yourself, UnknownMember for nobody.
    """
    if sender.member_id == recipient_id:
        raise ValidationError("that is you: pick another member", field="to")
    return current_account(deps, recipient_id, now)


def reach_between(
    deps: Deps, sender: Account, recipient_id: str, now: datetime, *, with_routes: bool
) -> Reach:
    """:func:`gather_reach` in one read, the recipient as of ``now``; for the hot paths.

    The recipient's account is read with the rest; only when a renewal of
    theirs is due is the read given up, the renewal applied in its own write
    transaction, and the reach gathered again. Raises as :func:`recipient_as_of`.
    """
    if sender.member_id == recipient_id:
        raise ValidationError("that is you: pick another member", field="to")
    with deps.db.read() as conn:
        recipient = account_store.read_account(conn, recipient_id, deps.plans.lookup(conn))
        if recipient is not None and not is_due(recipient.next_due_at, now):
            return gather_reach(deps, conn, sender, recipient, with_routes=with_routes)
    recipient = current_account(deps, recipient_id, now)  # raises UnknownMember for nobody
    with deps.db.read() as conn:
        return gather_reach(deps, conn, sender, recipient, with_routes=with_routes)


def gather_reach(
    deps: Deps,
    conn: Connection,
    sender: Account,
    recipient: Account,
    *,
    with_routes: bool = True,
) -> Reach:
    """Everything the rules need to decide how ``sender`` may reach ``recipient``.

    Both accounts come with their due renewals applied (see :func:`recipient_as_of`).
    The free routes (shared groups, open conversations, introductions, contact
    info) take several queries; a send asks for them only when it needs them: to
    list them when the sender's plan has no InMail.
    """
    sender_id, recipient_id = sender.member_id, recipient.member_id
    settings = member_store.get_messaging_settings(conn, recipient_id)
    if settings is None:
        raise UnknownMember(f"there is no member {recipient_id!r}")
    blocked = network_store.is_blocked_either_way(conn, sender_id, recipient_id)
    connected = network_store.are_connected(conn, sender_id, recipient_id)
    refused = connected or blocked or not settings.inmail_open  # whatever awaits: no need to look
    awaiting = None if refused else message_store.awaiting_inmail(conn, sender_id, recipient_id)
    reach = Reach(
        sender_plan=sender.subscription.plan,
        connected=connected,
        blocked=blocked,
        recipient_accepts_inmail=settings.inmail_open,
        recipient_open_profile=settings.open_profile and recipient.subscription.plan.is_paid,
        open_conversation=False,
        awaiting=awaiting,
        you_blocked=blocked and network_store.has_blocked(conn, sender_id, recipient_id),
    )
    if not with_routes or blocked:
        return reach
    groups = social.shared_groups(conn, sender_id, recipient_id)
    open_to_groups = settings.group_messages_open
    routes = free_routes(
        conn, sender_id, recipient_id, connected=connected, groups=groups, group_open=open_to_groups
    )
    return replace(
        reach,
        open_conversation=message_store.has_open_conversation(conn, sender_id, recipient_id),
        group_peer=bool(groups) and open_to_groups,
        free_routes=tuple(routes),
    )


def free_routes(
    conn: Connection,
    sender_id: str,
    recipient_id: str,
    *,
    connected: bool,
    groups: list[Group],
    group_open: bool,
) -> list[tuple[str, str]]:
    """Every free way to reach the recipient besides a direct message, as (channel, detail)."""
    routes: list[tuple[str, str]] = []
    if group_open:
        routes += [group_route(g.name) for g in groups]
    mutuals = network_store.mutual_connections(conn, sender_id, recipient_id, limit=MUTUALS_SHOWN)
    for mutual in mutuals:
        member = member_store.get_member(conn, mutual)
        if member is not None:
            routes.append(introduction_route(member.name, member.handle))
    degree = 1 if connected else (2 if mutuals else 3)
    for field, (value, visibility) in social.contact_fields(conn, recipient_id).items():
        if visible_to(Visibility(visibility), is_self=False, degree=degree):
            routes.append(contact_route(field, value))
    recipient = member_store.get_member(conn, recipient_id)
    if recipient is not None:
        routes.append(mention_route(recipient.handle))
    return routes


MUTUALS_SHOWN = 3  # introductions offered: through the first mutual connections, by id


def group_route(group_name: str) -> tuple[str, str]:
    return ("group_message", f"message them in the group {group_name}")


def introduction_route(name: str, handle: str) -> tuple[str, str]:
    return ("introduction", f"ask {name} (@{handle}) to introduce you")


def contact_route(field: str, value: str) -> tuple[str, str]:
    return ("contact_info", f"{field}: {value}")


def mention_route(handle: str) -> tuple[str, str]:
    return ("mention", f"mention @{handle} in a post")
