"""Gathering what is true between two members, for the send rules and the cost preview."""

from __future__ import annotations

from sqlalchemy import Connection

from inmail.domain.errors import UnknownMember, ValidationError
from inmail.domain.messaging import Reach
from inmail.services.context import Deps
from inmail.store import accounts as account_store
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store


def gather_reach(deps: Deps, conn: Connection, sender_id: str, recipient_id: str) -> Reach:
    """Everything the rules need to decide how ``sender`` may reach ``recipient``."""
    if sender_id == recipient_id:
        raise ValidationError("that is you: pick another member", field="to")
    plans = deps.plans.lookup(conn)
    sender = account_store.read_account(conn, sender_id, plans)
    recipient = account_store.read_account(conn, recipient_id, plans)
    settings = member_store.get_messaging_settings(conn, recipient_id)
    if sender is None:
        raise UnknownMember(f"there is no member {sender_id!r}")
    if recipient is None or settings is None:
        raise UnknownMember(f"there is no member {recipient_id!r}")
    return Reach(
        sender_plan=sender.subscription.plan,
        connected=network_store.are_connected(conn, sender_id, recipient_id),
        blocked=network_store.is_blocked_either_way(conn, sender_id, recipient_id),
        recipient_accepts_inmail=settings.inmail_open,
        recipient_open_profile=settings.open_profile and recipient.subscription.plan.is_paid,
        open_conversation=message_store.has_open_conversation(conn, sender_id, recipient_id),
        free_routes=tuple(free_routes(conn, sender_id, recipient_id)),
    )


def free_routes(conn: Connection, sender_id: str, recipient_id: str) -> list[str]:
    """The free ways that exist to reach the recipient (more arrive with groups and posts)."""
    routes = []
    if network_store.share_a_connection(conn, sender_id, recipient_id):
        routes.append("ask a mutual connection for an introduction")
    return routes
