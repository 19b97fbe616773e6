"""Plans and credit packs, and the default catalog from SPEC §1 and §6.

Plans are data and versioned: a change to a plan's terms makes a new version,
and a subscription keeps the version its current cycle started with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from inmail.domain.errors import UnknownPack, UnknownPlan, ValidationError
from inmail.domain.money import Money
from inmail.domain.timeline import check_term_days

BASIC = "basic"
STANDARD_PACK = "pack_1"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class Pack:
    code: str
    credits: int
    price: Money

    def __post_init__(self) -> None:
        _check_code(self.code)
        if self.credits <= 0:
            raise ValidationError("a pack must hold at least one credit", field="credits")
        if self.price.amount_minor < 0:
            raise ValidationError("a pack's price cannot be negative", field="price")


@dataclass(frozen=True, slots=True)
class Plan:
    """The terms of one version of a plan (SPEC §1)."""

    code: str
    name: str
    monthly_allotment: int
    rollover_cap: int
    price: Money
    inmail: bool
    packs: bool
    overage: bool
    version: int = 1
    inmail_cost: int = 1
    overage_pack: str = STANDARD_PACK
    plan_credit_lifetime_days: int | None = None
    pack_credit_lifetime_days: int = 365
    credit_back_days: int = 0
    followup_after_days: int = 7
    max_followups: int = 1

    def __post_init__(self) -> None:
        _check_code(self.code)
        _check_non_negative(
            monthly_allotment=self.monthly_allotment,
            rollover_cap=self.rollover_cap,
            price=self.price.amount_minor,
            inmail_cost=self.inmail_cost,
            credit_back_days=self.credit_back_days,
            followup_after_days=self.followup_after_days,
            max_followups=self.max_followups,
        )
        if not self.name.strip():
            raise ValidationError("a plan needs a name", field="name")
        if self.version < 1:
            raise ValidationError("plan versions start at 1", field="version")
        if self.plan_credit_lifetime_days is not None and self.plan_credit_lifetime_days < 1:
            raise ValidationError(
                "plan_credit_lifetime_days must be at least 1 (or none)",
                field="plan_credit_lifetime_days",
            )
        if self.pack_credit_lifetime_days < 1:
            raise ValidationError(
                "pack_credit_lifetime_days must be at least 1", field="pack_credit_lifetime_days"
            )
        # Bounded so that adding one to a date is a date or "never", not an OverflowError.
        check_term_days(self.plan_credit_lifetime_days, "plan_credit_lifetime_days")
        check_term_days(self.pack_credit_lifetime_days, "pack_credit_lifetime_days")
        check_term_days(self.credit_back_days, "credit_back_days")
        check_term_days(self.followup_after_days, "followup_after_days")

    @property
    def is_paid(self) -> bool:
        """A paid plan has billing cycles; Basic has none."""
        return self.code != BASIC


def _check_code(code: str) -> None:
    if not _CODE.match(code):
        raise ValidationError(
            f"codes are lower-case letters, digits and underscores, not {code!r}", field="code"
        )


def _check_non_negative(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValidationError(f"{name} cannot be negative (got {value})", field=name)


@dataclass(frozen=True)
class Catalog:
    """The current version of every plan and the pack catalog."""

    plans: Mapping[str, Plan]
    packs: Mapping[str, Pack] = field(default_factory=dict)

    def plan(self, code: str) -> Plan:
        try:
            return self.plans[code]
        except KeyError:
            raise UnknownPlan(f"there is no plan {code!r}") from None

    def pack(self, code: str) -> Pack:
        try:
            return self.packs[code]
        except KeyError:
            raise UnknownPack(f"there is no credit pack {code!r}") from None


def _usd(amount_minor: int) -> Money:
    return Money(amount_minor, "USD")


def _paid(code: str, name: str, allotment: int, fee_minor: int) -> Plan:
    # SPEC §1: the source gives no caps ("account specific"); the default is 3 x allotment.
    return Plan(
        code=code,
        name=name,
        monthly_allotment=allotment,
        rollover_cap=3 * allotment,
        price=_usd(fee_minor),
        inmail=True,
        packs=True,
        overage=True,
    )


# Monthly fees are illustrative defaults: operators set their own.
DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan(
        code=BASIC,
        name="Basic (free)",
        monthly_allotment=0,
        rollover_cap=0,
        price=_usd(0),
        inmail=False,
        packs=False,
        overage=False,
    ),
    _paid("premium_business", "Premium Business", 25, 5999),
    _paid("sales_navigator_professional", "Sales Navigator Professional", 15, 9999),
    _paid("recruiter_lite", "Recruiter Lite", 25, 17000),
    _paid("recruiter", "Recruiter", 50, 83500),
    _paid("recruiter_corporate", "Recruiter Corporate", 75, 99900),
)

DEFAULT_PACKS: tuple[Pack, ...] = (
    Pack(STANDARD_PACK, 1, _usd(1000)),
    Pack("pack_5", 5, _usd(4500)),
    Pack("pack_10", 10, _usd(8500)),
    Pack("pack_25", 25, _usd(20000)),
)


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One version of a plan's terms and the moment it came into force (when it was written)."""

    effective_at: datetime
    plan: Plan


def in_force(history: Sequence[PlanVersion], at: datetime) -> Plan:
    """The version of one plan whose terms apply to something happening at ``at`` (SPEC §1).

    That is the newest version written at or before ``at``, so a renewal that
    is caught up late gets exactly the terms an on-time one would have had. A
    moment before the first version (history loaded with a backdated clock)
    gets the first version. ``history`` holds one plan's versions, any order.

    Raises UnknownPlan when ``history`` is empty.
    """
    if not history:
        raise UnknownPlan("there is no such plan")
    earlier = [v for v in history if v.effective_at <= at]
    chosen = earlier or [min(history, key=lambda v: v.plan.version)]
    return max(chosen, key=lambda v: v.plan.version).plan


def default_catalog() -> Catalog:
    return catalog_of(DEFAULT_PLANS, DEFAULT_PACKS)


def catalog_of(plans: Iterable[Plan], packs: Iterable[Pack]) -> Catalog:
    return Catalog({p.code: p for p in plans}, {p.code: p for p in packs})
