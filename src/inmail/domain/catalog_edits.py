"""Rules for the operator's catalog edits: what a new plan or pack version may be, and its diff.

Pure: takes plans and packs, returns decisions. The operator's pages and the admin API
both check an edit here before it is written (docs/rules.md, "Operator catalog edits").
"""

from __future__ import annotations

from dataclasses import dataclass

from inmail.domain.errors import ValidationError
from inmail.domain.money import Money
from inmail.domain.plans import Pack, Plan

# The terms an operator sees in a diff, in the order of the edit form, with their words.
PLAN_TERM_LABELS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("monthly_allotment", "Credits a month"),
    ("rollover_cap", "Rollover cap"),
    ("price", "Fee a month"),
    ("inmail", "InMail"),
    ("packs", "Buying packs"),
    ("overage", "Overage"),
    ("overage_pack", "Overage pack"),
    ("inmail_cost", "Credits per InMail"),
    ("credit_back_days", "Credit-back days"),
    ("plan_credit_lifetime_days", "Plan credits last (days)"),
    ("pack_credit_lifetime_days", "Pack credits last (days)"),
    ("followup_after_days", "Follow-up after (days)"),
    ("max_followups", "Follow-ups allowed"),
)
PACK_TERM_LABELS: tuple[tuple[str, str], ...] = (("credits", "Credits"), ("price", "Price"))


@dataclass(frozen=True, slots=True)
class TermChange:
    """One term that a new version changes, both values as the operator reads them."""

    term: str
    label: str
    before: str
    after: str


def plan_diff(old: Plan | None, new: Plan) -> list[TermChange]:
    """The terms of ``new`` that differ from ``old`` (every term when ``old`` is None)."""
    return _diff(old, new, PLAN_TERM_LABELS)


def pack_diff(old: Pack | None, new: Pack) -> list[TermChange]:
    """The terms of ``new`` that differ from ``old`` (every term when ``old`` is None)."""
    return _diff(old, new, PACK_TERM_LABELS)


def _diff(old: object | None, new: object, labels: tuple[tuple[str, str], ...]) -> list[TermChange]:
    changes = []
    for term, label in labels:
        after = getattr(new, term)
        before = None if old is None else getattr(old, term)
        if old is None or before != after:
            shown_before = "—" if old is None else _shown(before)
            changes.append(TermChange(term, label, shown_before, _shown(after)))
    return changes


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "never"
    return str(value)


def lower_cap_meaning(plan: Plan) -> str | None:
    """What a rollover cap below the allotment does to members, in words; None when it is not.

    With the cap under the allotment, every renewal grants the allotment and at once
    forfeits down to the cap (SPEC §2 step 3), so members never start a cycle with more
    than the cap: the allotment is in effect the cap.
    """
    if plan.rollover_cap >= plan.monthly_allotment:
        return None
    return (
        f"The rollover cap ({plan.rollover_cap}) is below the monthly credits "
        f"({plan.monthly_allotment}): each renewal grants {plan.monthly_allotment} credits and "
        f"at once forfeits everything above {plan.rollover_cap}, so members start every cycle "
        f"with at most {plan.rollover_cap} plan credits and nothing rolls over."
    )


def check_plan_version(plan: Plan, *, lower_cap_confirmed: bool) -> None:
    """Refuse terms an operator would not mean: a free paid plan, an unconfirmed lower cap.

    Raises ValidationError (field ``price``) when a paid plan (any plan but Basic) costs
    nothing, and (field ``rollover_cap``) when the cap is below the allotment and the
    operator has not confirmed what that means (``lower_cap_meaning``).
    """
    if plan.is_paid and plan.price.amount_minor <= 0:
        raise ValidationError(
            f"{plan.name} is a paid plan, so its monthly fee must be more than 0 "
            f"(got {plan.price}).",
            field="price",
        )
    meaning = lower_cap_meaning(plan)
    if meaning is not None and not lower_cap_confirmed:
        raise ValidationError(
            f"{meaning} Confirm the lower cap to save it, or raise the cap.", field="rollover_cap"
        )


def check_pack_version(pack: Pack) -> None:
    """A pack on sale must cost something. Raises ValidationError (field ``price``)."""
    if pack.price.amount_minor <= 0:
        raise ValidationError(
            f"The pack {pack.code} must cost more than 0 (got {pack.price}).", field="price"
        )


def edited_pack(current: Pack | None, code: str, credits: int | None, price: Money | None) -> Pack:
    """The next terms of pack ``code``: the given ones, the others as they are now.

    Raises ValidationError when a new pack lacks its credits or price, or a term is invalid.
    """
    if current is None:
        if credits is None or price is None:
            raise ValidationError(
                f"{code!r} is a new pack, so it needs credits and a price",
                field="credits" if credits is None else "price",
            )
        return Pack(code, credits, price)
    return Pack(
        code,
        current.credits if credits is None else credits,
        current.price if price is None else price,
    )
