"""Invitation (password-set) links: the operator issues one, the member sets a password with it.

A member the operator created (API, CLI or the operator's pages) has no password;
the link is how they get one. Each link is random (256 bits), kept only as its
SHA-256, works once and expires (domain.invitation_links). Issuing a new link for
a member makes their earlier unused links stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import InvitationLinkUsed, NotFound, UnknownMember
from inmail.domain.invitation_links import check_usable, expires_at
from inmail.services import passwords
from inmail.services.context import Deps
from inmail.store import invitation_links as link_store
from inmail.store import members as member_store
from inmail.store import web as web_store

LINK_PREFIX = "inv_"
PATH = "/welcome/"  # the web page that opens a link: PATH + token


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A new link's token (shown now, never again), whose it is, and when it expires (UTC)."""

    token: str
    member_id: str
    handle: str
    expires_at: datetime

    def url(self, base_url: str) -> str:
        """The whole link, e.g. ``https://inmail.example/welcome/inv_…``."""
        return base_url.rstrip("/") + PATH + self.token


@dataclass(frozen=True, slots=True)
class LinkHolder:
    """The member a usable link is for (shown on the page that sets the password)."""

    member_id: str
    handle: str
    name: str
    expires_at: datetime


def _hash(token: str) -> str:
    # 256 random bits: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_link(deps: Deps, *, member_id: str, now: datetime, days: int) -> IssuedLink:
    """A new one-time link for the member, valid ``days`` days. Raises UnknownMember."""
    require_utc(now)
    until = expires_at(now, days)
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    with deps.db.write() as conn:
        member = member_store.get_member(conn, member_id)
        if member is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        link_store.replace_link(conn, _hash(token), member_id, now, until)
    return IssuedLink(token, member_id, member.handle, until)


def issue_link_for_handle(deps: Deps, *, handle: str, now: datetime, days: int) -> IssuedLink:
    """:func:`issue_link` for the member with ``handle`` (the CLI's way to name them)."""
    with deps.db.read() as conn:
        member_id = member_store.id_by_handle(conn, handle.strip().lstrip("@").lower())
    if member_id is None:
        raise UnknownMember(f"there is no member with the handle {handle!r}")
    return issue_link(deps, member_id=member_id, now=now, days=days)


def open_link(deps: Deps, *, token: str, now: datetime) -> LinkHolder:
    """Whose the link is, if it may be used now.

    Raises NotFound for a link that never existed (or was replaced by a newer one),
    InvitationLinkUsed or InvitationLinkExpired.
    """
    with deps.db.read() as conn:
        link = link_store.find_link(conn, _hash(token)) if _plausible(token) else None
        member = None if link is None else member_store.get_member(conn, link.member_id)
    if link is None or member is None:
        raise NotFound(
            "this invitation link is not valid (a newer one may have replaced it): "
            "ask the operator for a new one"
        )
    check_usable(expires=link.expires_at, used_at=link.used_at, now=now)
    return LinkHolder(member.id, member.handle, member.name, link.expires_at)


def set_password_with_link(deps: Deps, *, token: str, password: str, now: datetime) -> str:
    """Set the link's member's password and use the link up; returns the member id.

    Raises what :func:`open_link` raises, and ValidationError for a password the
    sign-up rules refuse (``passwords.check_password``). Two uses at once: one wins,
    the other gets InvitationLinkUsed.
    """
    require_utc(now)
    holder = open_link(deps, token=token, now=now)
    hashed = passwords.hash_password(password)  # slow (argon2): outside the transaction
    with deps.db.write() as conn:
        link = link_store.find_link(conn, _hash(token))
        if link is None:  # replaced by a newer link since it was opened
            raise NotFound("this invitation link was replaced by a newer one: use that one")
        check_usable(expires=link.expires_at, used_at=link.used_at, now=now)
        if not link_store.mark_used(conn, _hash(token), now):  # another request used it first
            raise InvitationLinkUsed("this invitation link was already used")
        web_store.set_password_hash(conn, holder.member_id, hashed, now)
    return holder.member_id


def _plausible(token: str) -> bool:
    return token.startswith(LINK_PREFIX) and len(token) <= 200
