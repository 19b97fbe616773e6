"""A member's settings: who may reach them, and how overage is bought for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownMember, ValidationError
from inmail.domain.profile import check_time_zone
from inmail.domain.purchases import OverageSettings
from inmail.services.context import Deps, lock_and_catch_up
from inmail.store import accounts as account_store
from inmail.store import members as member_store
from inmail.store.members import MessagingSettings

FIELDS = frozenset(
    {
        "inmail_open",
        "open_profile",
        "group_messages_open",
        "auto_overage",
        "overage_limit_minor",
        "time_zone",
    }
)


@dataclass(frozen=True, slots=True)
class MemberSettings:
    inmail_open: bool
    open_profile: bool
    group_messages_open: bool
    auto_overage: bool
    overage_limit_minor: int | None
    time_zone: str = "UTC"  # IANA name: times are shown to the member in it


def get_settings(deps: Deps, *, member_id: str) -> MemberSettings:
    with deps.db.read() as conn:
        messaging = member_store.get_messaging_settings(conn, member_id)
        account = account_store.read_account(conn, member_id, deps.plans.lookup(conn))
        zone = member_store.time_zone_of(conn, member_id)
    if messaging is None or account is None:
        raise UnknownMember(f"there is no member {member_id!r}")
    return _combine(messaging, account.overage, zone or "UTC")


def time_zone_of(deps: Deps, *, member_id: str) -> str:
    """The member's ``time_zone`` setting (an IANA name; "UTC" when unset or unknown member)."""
    with deps.db.read() as conn:
        return member_store.time_zone_of(conn, member_id) or "UTC"


def update_settings(
    deps: Deps, *, member_id: str, changes: Mapping[str, object], now: datetime
) -> MemberSettings:
    """Change only the settings named in ``changes``; the rest stay as they are.

    Open Profile is for members on a paid plan (SPEC §4); ``time_zone`` is an IANA name
    (domain.profile.check_time_zone). Raises ValidationError naming the field.
    """
    require_utc(now)
    unknown = sorted(set(changes) - FIELDS)
    if unknown:
        raise ValidationError(f"unknown setting {unknown[0]!r}", field=unknown[0])
    with deps.db.write() as conn:
        opened = lock_and_catch_up(deps, conn, member_id, now)
        messaging = member_store.get_messaging_settings(conn, member_id)
        assert messaging is not None
        zone = member_store.time_zone_of(conn, member_id) or "UTC"
        merged = replace(_combine(messaging, opened.account.overage, zone), **changes)  # type: ignore[arg-type]
        _check(merged, paid=opened.account.subscription.plan.is_paid, changes=changes)
        opened.save()
        member_store.update_messaging_settings(
            conn,
            member_id,
            MessagingSettings(merged.inmail_open, merged.open_profile, merged.group_messages_open),
        )
        account_store.update_overage_settings(
            conn, member_id, OverageSettings(merged.auto_overage, merged.overage_limit_minor)
        )
        if "time_zone" in changes:
            member_store.set_time_zone(conn, member_id, merged.time_zone)
    return merged


def _check(value: MemberSettings, *, paid: bool, changes: Mapping[str, object]) -> None:
    for name in ("inmail_open", "open_profile", "group_messages_open", "auto_overage"):
        if not isinstance(getattr(value, name), bool):
            raise ValidationError(f"{name} must be true or false", field=name)
    limit = value.overage_limit_minor
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(
            "the overage limit is an amount in minor units >= 0, or null for no limit",
            field="overage_limit_minor",
        )
    if "time_zone" in changes:
        check_time_zone(value.time_zone)
    if changes.get("open_profile") is True and not paid:
        raise ValidationError("Open Profile is for members on a paid plan", field="open_profile")


def _combine(
    messaging: MessagingSettings, overage: OverageSettings, time_zone: str
) -> MemberSettings:
    return MemberSettings(
        messaging.inmail_open,
        messaging.open_profile,
        messaging.group_messages_open,
        overage.auto_overage,
        overage.limit_minor,
        time_zone,
    )
