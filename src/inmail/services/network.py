"""Connections between members (the operator's endpoint; invitations come with messaging)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RecipientBlockedByYou,
    UnknownMember,
    ValidationError,
)
from inmail.domain.network import INVITATION_NOTE
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write
from inmail.store import members as member_store
from inmail.store import network as network_store
from inmail.store.messaging import notify
from inmail.store.network import Invitation


def connect(deps: Deps, *, a: str, b: str, now: datetime) -> bool:
    """Make ``a`` and ``b`` 1st-degree connections; False if they already were."""
    require_utc(now)
    if a == b:
        raise ValidationError("a member cannot connect to themself", field="b")
    with deps.db.write() as conn:
        for field, member_id in (("a", a), ("b", b)):
            if member_store.get_member(conn, member_id) is None:
                raise UnknownMember(f"there is no member {member_id!r} ({field})")
        if network_store.are_connected(conn, a, b):
            return False
        network_store.insert_connection(conn, a, b, now)
        return True


def you_blocked(deps: Deps, *, member_id: str, other: str) -> bool:
    """Whether the member blocked ``other`` (a block by ``other`` is never told to them)."""
    with deps.db.read() as conn:
        return network_store.has_blocked(conn, member_id, other)


def degree_between(deps: Deps, *, viewer: str, other: str) -> int:
    with deps.db.read() as conn:
        return network_store.degree(conn, viewer, other)


def invite(
    deps: Deps,
    *,
    from_id: str,
    to: str,
    note: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Invitation:
    """Ask another member to connect; they accept or decline.

    A retry with the same ``idempotency_key`` answers the first invitation.
    """
    require_utc(now)
    write = keyed(Invitation, f"invitation:{from_id}", idempotency_key, {"to": to, "note": note})

    def effect(conn: Connection) -> Invitation:
        if from_id == to:
            raise ValidationError("you cannot invite yourself", field="to")
        INVITATION_NOTE.check(note, field="note")
        if member_store.get_member(conn, to) is None:
            raise UnknownMember(f"there is no member {to!r}")
        if network_store.are_connected(conn, from_id, to):
            raise Conflict("you are already connected")
        if network_store.has_blocked(conn, from_id, to):
            raise RecipientBlockedByYou("you blocked this member: unblock them to invite them")
        if network_store.is_blocked_either_way(conn, from_id, to):
            raise Forbidden("you cannot invite this member")
        pending = network_store.pending_invitation(conn, from_id, to)
        if pending is not None:
            return pending
        invitation = Invitation(new_id("inv"), from_id, to, "pending", note, now, None)
        network_store.insert_invitation(conn, invitation)
        notify(
            conn,
            member_id=to,
            at=now,
            kind="invitation",
            text="New invitation to connect",
            reference=f"invitation:{invitation.id}",
        )
        return invitation

    return keyed_write(deps, write, now=now, effect=effect)


def answer_invitation(
    deps: Deps, *, member_id: str, invitation_id: str, accept: bool, now: datetime
) -> Invitation:
    require_utc(now)
    with deps.db.write() as conn:
        invitation = network_store.get_invitation(conn, invitation_id)
        if invitation is None or member_id not in (invitation.to_id, invitation.from_id):
            raise NotFound(f"there is no invitation {invitation_id!r}")
        if member_id != invitation.to_id:
            raise Forbidden("only the invited member can answer an invitation")
        status = "accepted" if accept else "declined"
        if not network_store.answer_invitation(conn, invitation_id, status, now):
            raise Conflict(f"this invitation was {invitation.status} already")
        if accept and not network_store.are_connected(conn, invitation.from_id, member_id):
            network_store.insert_connection(conn, invitation.from_id, member_id, now)
            notify(
                conn,
                member_id=invitation.from_id,
                at=now,
                kind="invitation_accepted",
                text="Your invitation was accepted",
                reference=f"member:{member_id}",
            )
    return replace(invitation, status=status, answered_at=now)


def pending_invitations(
    deps: Deps,
    *,
    member_id: str,
    before: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[Invitation]:
    """Pending invitations to or from the member, newest first, older than ``before``
    (a (created at, id) key)."""
    with deps.db.read() as conn:
        return network_store.invitations_for(conn, member_id, before=before, limit=limit)
