"""Bearer tokens: members get random tokens (shown once, stored hashed); the operator has one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownMember
from inmail.services.context import Deps
from inmail.store import auth as auth_store
from inmail.store import members as member_store

TOKEN_PREFIX = "imt_"


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(deps: Deps, *, member_id: str, now: datetime) -> str:
    """A new token for the member; only its hash is kept, so it can be shown only now."""
    require_utc(now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with deps.db.write() as conn:
        if member_store.get_member(conn, member_id) is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        auth_store.insert_token(conn, _hash(token), member_id, now)
    return token


_KNOWN_TOKENS: dict[str, str] = {}
_KNOWN_TOKENS_MAX = 50_000


def known_member(token: str) -> str | None:
    """The member of a token this process has already seen (no I/O), else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return _KNOWN_TOKENS.get(_hash(token))


def member_for_token(deps: Deps, token: str) -> str | None:
    """The member a token belongs to, or None for an unknown token.

    Tokens are never reassigned or revoked in this version, so a token seen
    once is remembered by this process (bounded); unknown tokens always ask
    the database, so a token issued by another process works at once.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _hash(token)
    known = _KNOWN_TOKENS.get(digest)
    if known is not None:
        return known
    with deps.db.read() as conn:
        member_id = auth_store.member_for_token(conn, digest)
    if member_id is not None and len(_KNOWN_TOKENS) < _KNOWN_TOKENS_MAX:
        _KNOWN_TOKENS[digest] = member_id
    return member_id


def is_operator_token(token: str, admin_token: str | None) -> bool:
    if not admin_token:
        return False
    return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), admin_token.encode())
