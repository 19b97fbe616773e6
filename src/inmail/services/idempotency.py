"""Idempotency keys: a retried write answers its first answer, whatever changed since.

API.md: every write that creates something accepts an ``Idempotency-Key``; a
repeat with the same key and request answers the first status and body and
changes nothing; the same key with a different request is
``idempotency-key-reused``. Keys are scoped per member and per kind of write.

Two rules make that hold:

- **The key is looked up before any rule is checked** (:func:`first_answer_or`).
  A retried follow-up must not meet ``follow-up-limit-reached`` because its own
  first attempt used up the limit, nor a retried send a recipient who has since
  turned InMail off. If a rule refuses anyway, the key is looked up once more:
  a concurrent first request may have committed in between.
- **The key is stored in the effect's own transaction** (:func:`idempotent`),
  so either both exist or neither; a refused request stores nothing, and a
  retry of it runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from inmail.domain.errors import DomainError, IdempotencyKeyReused, ValidationError
from inmail.services.context import Deps
from inmail.store import accounts as account_store
from inmail.store import idempotency as key_store

T = TypeVar("T")
MAX_KEY_LENGTH = 200
# Visible ASCII, inner spaces allowed: what an HTTP header can carry (its outer spaces trimmed).
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True, slots=True)
class Keyed(Generic[T]):
    """What one keyed write is: its scope, the client's key, the request it guards.

    ``decode`` turns the stored answer back into the write's result.
    """

    scope: str
    key: str | None
    request: dict[str, Any]
    encode: Callable[[T], str]
    decode: Callable[[str], T]

    @property
    def digest(self) -> str:
        return fingerprint(self.request)


def keyed(answer: type[T], scope: str, key: str | None, request: dict[str, Any]) -> Keyed[T]:
    """A :class:`Keyed` whose answer (a dataclass) is stored as JSON by pydantic."""
    adapter = TypeAdapter(answer)
    return Keyed(
        scope,
        key,
        request,
        lambda value: adapter.dump_json(value).decode(),
        adapter.validate_json,
    )


def first_answer_or(deps: Deps, write: Keyed[T], run: Callable[[], T]) -> T:
    """The first answer stored for ``write``'s key; otherwise ``run()`` (which stores it).

    Raises IdempotencyKeyReused when the key answered a different request, and
    ValidationError for a malformed key, before anything else is checked.
    """
    found = stored_answer(deps, write)
    if found is not None:
        return found
    try:
        return run()
    except DomainError:
        found = stored_answer(deps, write)  # a concurrent first request won the race
        if found is not None:
            return found
        raise


def stored_answer(deps: Deps, write: Keyed[T]) -> T | None:
    """The stored answer for the key (None without a key, or when none is stored)."""
    if write.key is None:
        return None
    check_key(write.key)
    with deps.db.read() as conn:
        stored = key_store.find_key(conn, write.scope, write.key)
    return None if stored is None else replay(stored, write.digest, write.decode)


def keyed_write(
    deps: Deps,
    write: Keyed[T],
    *,
    now: datetime,
    effect: Callable[[Connection], T],
    lock_member: str | None = None,
) -> T:
    """Run ``effect`` and store its answer with ``write``'s key, in one transaction.

    The key is looked up in that transaction first, before the effect checks
    any rule: a found key answers the stored answer and runs nothing. Use cases
    that check rules before their write transaction look it up earlier too
    (:func:`first_answer_or`).
    """
    return idempotent(
        deps,
        member_id=lock_member,
        scope=write.scope,
        key=write.key,
        request=write.request,
        now=now,
        effect=effect,
        encode=write.encode,
        decode=write.decode,
    )


def fingerprint(request: dict[str, Any]) -> str:
    encoded = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def idempotent(
    deps: Deps,
    *,
    member_id: str | None,
    scope: str,
    key: str | None,
    request: dict[str, Any],
    now: datetime,
    effect: Callable[[Connection], T],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """Run ``effect`` once per (scope, key): a replay returns the first result unchanged.

    The key is stored in the effect's own transaction, so either both exist or
    neither. With ``member_id``, that member's account is locked first (key or
    not), so a concurrent replay waits for the first request and then finds
    its key. The unique key is the last line of defence: if two first
    requests still race, only one can insert it, and the other's effect rolls
    back and answers the winner's result.
    """
    if key is None:
        with deps.db.write() as conn:
            if member_id is not None:
                account_store.lock_account_row(conn, member_id)
            return effect(conn)
    check_key(key)
    digest = fingerprint(request)
    try:
        with deps.db.write() as conn:
            if member_id is not None:
                account_store.lock_account_row(conn, member_id)
            stored = key_store.find_key(conn, scope, key)
            if stored is not None:
                return replay(stored, digest, decode)
            result = effect(conn)
            key_store.insert_key(conn, scope, key, digest, encode(result), now)
            return result
    except IntegrityError:
        with deps.db.read() as conn:
            stored = key_store.find_key(conn, scope, key)
        if stored is None:
            raise
        return replay(stored, digest, decode)


def replay(stored: key_store.StoredResponse, digest: str, decode: Callable[[str], T]) -> T:
    """The first answer for this key, if the request is the same one."""
    if stored.fingerprint != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request")
    return decode(stored.response)


def check_key(key: str) -> None:
    """One rule for every key, from a header or a web form (the API publishes the same)."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise ValidationError(
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} visible ASCII characters",
            field="idempotency_key",
        )


PRUNE_BATCH = 1000
"""Keys one pruning transaction deletes: short transactions, whatever the backlog."""


def prune_expired_keys(
    deps: Deps,
    *,
    now: datetime,
    retention: timedelta,
    should_stop: Callable[[], bool] = lambda: False,
    batch: int = PRUNE_BATCH,
) -> int:
    """Delete every key stored more than ``retention`` before ``now`` (UTC), ``batch`` per
    transaction, oldest first: how many. Stops between batches once ``should_stop()``.

    A retry with a deleted key is a new request (docs/rules.md, "The worker").
    """
    try:
        before = now - retention
    except OverflowError:  # a retention reaching before year 1 keeps every key
        return 0
    pruned = 0
    while not should_stop():
        with deps.db.write() as conn:
            gone = key_store.prune_keys(conn, before, batch)
        pruned += gone
        if gone < batch:
            break
    return pruned
