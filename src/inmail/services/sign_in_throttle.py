"""Sign-in throttling: failed attempts limited per handle and per client address.

docs/rules.md "Members and settings". Each failed sign-in (member password or
operator token) counts against the handle typed (the operator form counts
against ``operator``) and against the client's address, in a moving window
(the ``limits`` library). While either count is used up, every sign-in there is
refused with TooManyAttempts, saying when to try again, even with the right
password: that is what stops guessing. A successful sign-in does not reset
the counts (they lapse with the window).

The counts live where the storage URI says: ``memory://`` (the default) keeps
them in each server process; ``redis://host:6379`` and the other ``limits``
storages with moving-window support share them between processes.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse, storage, strategies

from inmail.domain.errors import TooManyAttempts

logger = logging.getLogger("inmail.sign_in")
OPERATOR = "operator"  # the operator form's "handle": there is one operator token


def parse_limit(text: str, setting: str) -> RateLimitItem:
    """A limit such as ``5/15 minutes``; ValueError naming the setting otherwise."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(
            f"{setting} must be a limit such as '5/15 minutes', not {text!r}"
        ) from None


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is signing in: the handle typed (lower case) and the client's address."""

    handle: str
    address: str


class SignInThrottle:
    """The counts of failed sign-ins, per handle and per address (one per server process
    with ``memory://``)."""

    def __init__(self, storage_uri: str, per_handle: str, per_address: str) -> None:
        store = storage.storage_from_string(storage_uri)
        if not isinstance(store, storage.MovingWindowSupport):
            raise ValueError(f"the sign-in throttle's storage {storage_uri!r} has no moving window")
        self._limiter = strategies.MovingWindowRateLimiter(store)
        self._per_handle = parse_limit(per_handle, "INMAIL_SIGN_IN_LIMIT_PER_HANDLE")
        self._per_address = parse_limit(per_address, "INMAIL_SIGN_IN_LIMIT_PER_ADDRESS")

    def check(self, attempt: Attempt) -> None:
        """Raise TooManyAttempts (with ``retry_after`` in seconds) while either count is used up."""
        for limit, scope, key, whom in self._scopes(attempt):
            if not self._limiter.test(limit, scope, key):
                wait = self._seconds_left(limit, scope, key)
                logger.warning(
                    "sign-in refused: too many failures for %s %r; retry in %d s",
                    scope,
                    key,
                    wait,
                )
                raise TooManyAttempts(
                    f"Too many failed sign-ins {whom}. Try again in {_duration(wait)}.",
                    retry_after=wait,
                )

    def failed(self, attempt: Attempt) -> None:
        """Count one failed sign-in against the handle and the address."""
        logger.info("sign-in failed for handle %r from %s", attempt.handle, attempt.address)
        for limit, scope, key, _ in self._scopes(attempt):
            self._limiter.hit(limit, scope, key)

    def _scopes(self, attempt: Attempt) -> list[tuple[RateLimitItem, str, str, str]]:
        return [
            (self._per_handle, "handle", attempt.handle, "for this handle"),
            (self._per_address, "address", attempt.address, "from your address"),
        ]

    def _seconds_left(self, limit: RateLimitItem, scope: str, key: str) -> int:
        reset_at = self._limiter.get_window_stats(limit, scope, key).reset_time
        # limits keeps its windows in wall-clock seconds (time.time), not the app's clock.
        return max(1, math.ceil(reset_at - time.time()))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
