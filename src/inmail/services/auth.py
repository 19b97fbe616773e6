"""Bearer tokens: members get random tokens (shown once, stored hashed); the operator has one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound, UnknownMember
from inmail.services.context import Deps
from inmail.store import auth as auth_store
from inmail.store import members as member_store
from inmail.store.auth import TokenRecord

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
        auth_store.insert_token(conn, _hash(token), member_id, now, new_id("tok"))
    return token


def list_tokens(deps: Deps, *, member_id: str) -> list[TokenRecord]:
    """The member's API tokens (ids and creation times, newest first; never the tokens)."""
    with deps.db.read() as conn:
        return auth_store.tokens_of(conn, member_id)


def revoke_token(deps: Deps, *, member_id: str, token_id: str) -> None:
    """Revoke one of the member's own tokens: it stops working at once in this process, and
    within KNOWN_TOKEN_SECONDS in the others. Raises NotFound for a token that is not theirs
    (or is already revoked)."""
    with deps.db.write() as conn:
        digest = auth_store.delete_token(conn, member_id, token_id)
    if digest is None:
        raise NotFound(f"you have no token {token_id!r}")
    _KNOWN_TOKENS.pop(digest, None)


# A token seen is remembered by this process (bounded) for a few seconds, so the hot path
# asks the database once per burst of requests; a revoke in another process is seen when
# the memory lapses.
_KNOWN_TOKENS: dict[str, tuple[str, float]] = {}
_KNOWN_TOKENS_MAX = 50_000
KNOWN_TOKEN_SECONDS = 5.0


def _remembered(digest: str) -> str | None:
    found = _KNOWN_TOKENS.get(digest)
    if found is None:
        return None
    member_id, until = found
    if time.monotonic() >= until:  # monotonic, not the clock: a test clock must not matter
        _KNOWN_TOKENS.pop(digest, None)
        return None
    return member_id


def known_member(token: str) -> str | None:
    """The member of a token this process has seen in the last few seconds (no I/O), else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return _remembered(_hash(token))


def member_for_token(deps: Deps, token: str) -> str | None:
    """The member a token belongs to, or None for an unknown or revoked token.

    A token seen is remembered by this process for KNOWN_TOKEN_SECONDS (bounded);
    unknown tokens always ask the database, so a token issued by another process
    works at once.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _hash(token)
    known = _remembered(digest)
    if known is not None:
        return known
    with deps.db.read() as conn:
        member_id = auth_store.member_for_token(conn, digest)
    if member_id is not None and len(_KNOWN_TOKENS) < _KNOWN_TOKENS_MAX:
        _KNOWN_TOKENS[digest] = (member_id, time.monotonic() + KNOWN_TOKEN_SECONDS)
    return member_id


def is_operator_token(token: str, admin_token: str | None) -> bool:
    if not admin_token:
        return False
    return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), admin_token.encode())
