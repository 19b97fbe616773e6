"""Member passwords for the web app: argon2id hashes, never the password itself."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from inmail.domain.cycles import require_utc
from inmail.domain.errors import DomainError, UnknownMember, ValidationError
from inmail.services.context import Deps
from inmail.services.sign_in_throttle import Attempt, SignInThrottle
from inmail.store import members as member_store
from inmail.store import web as web_store

_hasher = PasswordHasher()
MIN_LENGTH = 8
# Verified against when the handle is unknown, so a wrong handle takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class LoginFailed(DomainError):
    """The handle or the password is wrong (which one is not said)."""

    code = "unauthorized"


def check_password(password: str) -> None:
    """The one rule for a new password (every way of setting one): MIN_LENGTH to 1000
    characters. Raises ValidationError naming the ``password`` field."""
    if len(password) < MIN_LENGTH or len(password) > 1000:
        raise ValidationError(f"a password is at least {MIN_LENGTH} characters", field="password")


def hash_password(password: str) -> str:
    """The argon2id hash of a password the rule accepts (ValidationError otherwise)."""
    check_password(password)
    return _hasher.hash(password)


def set_password(deps: Deps, *, member_id: str, password: str, now: datetime) -> None:
    require_utc(now)
    hashed = hash_password(password)
    with deps.db.write() as conn:
        if member_store.get_member(conn, member_id) is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        web_store.set_password_hash(conn, member_id, hashed, now)


def check_login(
    deps: Deps,
    *,
    handle: str,
    password: str,
    throttle: SignInThrottle | None = None,
    address: str = "",
) -> str:
    """The member id for a correct handle and password; LoginFailed otherwise.

    With a ``throttle``, a handle or ``address`` (the client's) with too many failed
    sign-ins is refused first with TooManyAttempts, and each failure is counted.
    """
    handle = handle.strip().lower()
    attempt = Attempt(handle, address)
    if throttle is not None:
        throttle.check(attempt)
    with deps.db.read() as conn:
        found = web_store.password_hash_for_handle(conn, handle)
    member_id, hashed = found if found else ("", _DUMMY_HASH)
    try:
        _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        member_id = ""
    if not member_id:
        if throttle is not None:
            throttle.failed(attempt)
        raise LoginFailed("that handle and password do not match")
    return member_id
