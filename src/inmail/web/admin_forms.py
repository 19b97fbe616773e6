"""The operator's edit forms as typed: plan terms, counts and amounts, refused in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Form

from inmail.domain.errors import ValidationError
from inmail.domain.money import Money
from inmail.domain.plans import Plan

Number = Annotated[str, Form(max_length=30)]
Checkbox = Annotated[str, Form(max_length=10)]


@dataclass(frozen=True)
class PlanForm:
    """The edit form's fields as typed; ``changes_to`` turns them into validated plan terms."""

    monthly_allotment: str
    rollover_cap: str
    price: str
    inmail_cost: str
    credit_back_days: str
    inmail: bool
    packs: bool
    overage: bool

    @classmethod
    def of(cls, plan: Plan) -> PlanForm:
        return cls(
            str(plan.monthly_allotment),
            str(plan.rollover_cap),
            _decimal(plan.price.amount_minor),
            str(plan.inmail_cost),
            str(plan.credit_back_days),
            plan.inmail,
            plan.packs,
            plan.overage,
        )

    @classmethod
    def typed(cls, values: Mapping[str, str]) -> PlanForm:
        """The form as the operator filled it in (a refused save shows it again)."""
        return cls(
            values.get("monthly_allotment", ""),
            values.get("rollover_cap", ""),
            values.get("price", ""),
            values.get("inmail_cost", ""),
            values.get("credit_back_days", ""),
            values.get("inmail") == "on",
            values.get("packs") == "on",
            values.get("overage") == "on",
        )

    def changes_to(self, plan: Plan) -> dict[str, Any]:
        """Only the terms that differ from ``plan``; words for anything that is not a number."""
        terms: dict[str, Any] = {
            "monthly_allotment": whole_number(self.monthly_allotment, "Monthly credits"),
            "rollover_cap": whole_number(self.rollover_cap, "Rollover cap"),
            "price": Money(minor_units(self.price), plan.price.currency),
            "inmail_cost": whole_number(self.inmail_cost, "Credits per InMail"),
            "credit_back_days": whole_number(self.credit_back_days, "Credit-back days"),
            "inmail": self.inmail,
            "packs": self.packs,
            "overage": self.overage,
        }
        return {name: value for name, value in terms.items() if getattr(plan, name) != value}


def whole_number(text: str, label: str) -> int:
    """A count typed in a form; refused in words unless it is a whole number of 0 or more."""
    text = text.strip()
    if not text.isdigit() or len(text) > 9:
        raise ValidationError(f"{label} must be a whole number of 0 or more, like 25.")
    return int(text)


def minor_units(text: str, label: str = "The monthly fee") -> int:
    """An amount like ``59.99`` in minor units (cents); refused in words unless it is one."""
    problem = ValidationError(f"{label} must be an amount of 0 or more, like 59.99.")
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise problem from None
    if not amount.is_finite() or amount < 0 or amount > 10**9:
        raise problem
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValidationError(f"{label} has at most two decimals, like 59.99.")
    return int(cents)


def _decimal(amount_minor: int) -> str:
    whole, cents = divmod(amount_minor, 100)
    return f"{whole}.{cents:02d}"
