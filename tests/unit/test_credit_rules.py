from datetime import UTC, datetime, timedelta

import pytest

from inmail.domain.billing import RenewalOutcome, Subscription, catch_up, forfeit_at_next_renewal
from inmail.domain.credits import (
    Book,
    EntryKind,
    Lot,
    LotSource,
    credit_back,
    draw,
    expire_due,
    forfeit_above_cap,
    spending_order,
)
from inmail.domain.errors import (
    CostChanged,
    InsufficientCredits,
    OverageLimitReached,
    ValidationError,
)
from inmail.domain.money import Money
from inmail.domain.plan_changes import (
    ChangeKind,
    change_plan,
    classify_change,
    preview_change,
    prorated_fee,
    upgrade,
)
from inmail.domain.plans import Pack, Plan, default_catalog
from inmail.domain.purchases import (
    OverageSettings,
    check_agreed_charge,
    check_overage,
    overage_packs,
)

NOW = datetime(2026, 5, 10, 12, tzinfo=UTC)
CATALOG = default_catalog()


def _terms(code: str, _at: datetime) -> Plan:
    """A catalog without history: every moment sees its one version."""
    return CATALOG.plan(code)


def lot(
    lot_id: int,
    source: LotSource,
    remaining: int,
    *,
    age_days: int = 0,
    expires_in_days: int | None = None,
) -> Lot:
    created = NOW - timedelta(days=age_days)
    expires = None if expires_in_days is None else NOW + timedelta(days=expires_in_days)
    return Lot(lot_id, source, remaining, remaining, created, expires)


def book_of(*lots: Lot) -> Book:
    return Book(sum(x.remaining for x in lots), list(lots))


def test_spending_takes_plan_credits_first_oldest_first_then_soonest_expiry() -> None:
    old_plan = lot(1, LotSource.ALLOTMENT, 2, age_days=40)
    new_plan = lot(2, LotSource.ALLOTMENT, 2, age_days=5)
    late_pack = lot(3, LotSource.PURCHASE, 2, age_days=50, expires_in_days=300)
    soon_pack = lot(4, LotSource.OVERAGE, 2, age_days=1, expires_in_days=20)
    never = lot(5, LotSource.ADJUSTMENT, 2, age_days=90)
    order = spending_order([never, late_pack, new_plan, soon_pack, old_plan], NOW)
    assert [x.id for x in order] == [1, 2, 4, 3, 5]


def test_a_spend_across_lots_writes_one_entry_per_lot_with_running_balances() -> None:
    book = book_of(lot(1, LotSource.ALLOTMENT, 1), lot(2, LotSource.PURCHASE, 5, expires_in_days=9))
    draw(book, EntryKind.SPEND, 3, NOW, "inmail:x")
    assert [(e.lot.id, e.amount, e.balance_after) for e in book.entries] == [(1, -1, 5), (2, -2, 3)]
    assert book.balance == 3


def test_a_spend_beyond_the_balance_is_refused_and_changes_nothing() -> None:
    book = book_of(lot(1, LotSource.ALLOTMENT, 2))
    with pytest.raises(InsufficientCredits, match="needs 3 credit"):
        draw(book, EntryKind.SPEND, 3, NOW, "inmail:x")
    assert book.balance == 2
    assert book.entries == []


def test_expired_lots_cannot_be_spent() -> None:
    book = book_of(lot(1, LotSource.PURCHASE, 2, expires_in_days=-1))
    with pytest.raises(InsufficientCredits):
        draw(book, EntryKind.SPEND, 1, NOW, "inmail:x")


def test_expiry_writes_an_entry_at_the_lots_own_expiry_time() -> None:
    expiring = lot(1, LotSource.PURCHASE, 4, expires_in_days=-3)
    book = book_of(expiring, lot(2, LotSource.ALLOTMENT, 1))
    expire_due(book, NOW)
    assert [(e.kind, e.amount, e.at) for e in book.entries] == [
        (EntryKind.EXPIRE, -4, NOW - timedelta(days=3))
    ]
    assert book.balance == 1


def test_the_cap_forfeits_the_oldest_plan_credits_and_never_purchased_ones() -> None:
    book = book_of(
        lot(1, LotSource.ALLOTMENT, 10, age_days=60),
        lot(2, LotSource.ALLOTMENT, 10, age_days=30),
        lot(3, LotSource.PURCHASE, 50, expires_in_days=100),
    )
    assert forfeit_above_cap(book, 12, NOW, "cycle:s:2") == 8
    assert [(e.lot.id, e.amount) for e in book.entries] == [(1, -8)]
    assert book.plan_credits == 12
    assert book.purchased_credits == 50


def _subscription(plan_code: str, anchor: datetime, renewed: int = 0) -> Subscription:
    return Subscription("sub_1", CATALOG.plan(plan_code), anchor, renewed_cycle=renewed)


def test_catch_up_applies_each_missed_cycle_in_order_with_its_own_time() -> None:
    anchor = datetime(2026, 1, 31, 9, tzinfo=UTC)
    sub = _subscription("premium_business", anchor)
    book = book_of(lot(1, LotSource.ALLOTMENT, 25, age_days=100))
    renewals = catch_up(book, sub, _terms, datetime(2026, 5, 1, tzinfo=UTC))
    assert [r.at.date().isoformat() for r in renewals] == ["2026-02-28", "2026-03-31", "2026-04-30"]
    assert [r.forfeited for r in renewals] == [0, 0, 25]
    assert book.balance == 75
    assert [c.kind.value for c in book.charges] == ["subscription"] * 3


def test_forfeit_preview_counts_what_the_next_renewal_will_take() -> None:
    sub = _subscription("premium_business", datetime(2026, 4, 30, 9, tzinfo=UTC))
    book = book_of(
        lot(1, LotSource.ALLOTMENT, 70), lot(2, LotSource.PURCHASE, 9, expires_in_days=300)
    )
    assert forfeit_at_next_renewal(book, sub, _terms) == 20


@pytest.mark.parametrize(
    ("current", "target", "kind"),
    [
        ("basic", "recruiter", ChangeKind.SUBSCRIBE),
        ("premium_business", "recruiter", ChangeKind.UPGRADE),
        ("recruiter", "premium_business", ChangeKind.SCHEDULED),
        ("premium_business", "recruiter_lite", ChangeKind.SCHEDULED),
        ("recruiter", "basic", ChangeKind.SCHEDULED),
        ("recruiter", "recruiter", ChangeKind.NONE),
        ("basic", "basic", ChangeKind.NONE),
    ],
)
def test_plan_changes_are_classified_as_the_spec_says(
    current: str, target: str, kind: ChangeKind
) -> None:
    sub = _subscription(current, NOW)
    assert classify_change(sub, CATALOG.plan(target)) is kind


def test_asking_for_the_current_plan_withdraws_a_scheduled_change() -> None:
    sub = _subscription("recruiter", NOW)
    sub.pending_plan = "basic"
    assert classify_change(sub, CATALOG.plan("recruiter")) is ChangeKind.UNSCHEDULED


def test_an_upgrade_grants_the_prorated_difference_rounded_down() -> None:
    anchor = datetime(2026, 4, 1, tzinfo=UTC)
    sub = _subscription("premium_business", anchor)
    book = book_of(lot(1, LotSource.ALLOTMENT, 3))
    halfway = datetime(2026, 4, 16, tzinfo=UTC)
    upgrade(book, sub, CATALOG.plan("recruiter"), halfway)
    assert book.balance == 3 + 12  # floor((50 - 25) * 1/2)
    assert sub.plan.code == "recruiter"
    assert sub.anchor == anchor
    (charge,) = book.charges
    assert charge.kind.value == "proration"
    assert charge.price == Money((83500 - 5999) // 2, "USD")


@pytest.mark.parametrize("target", ["recruiter", "basic", "sales_navigator_professional"])
def test_a_preview_is_the_change_itself_on_a_copy_that_is_thrown_away(target: str) -> None:
    anchor = datetime(2026, 4, 1, tzinfo=UTC)
    halfway = datetime(2026, 4, 16, tzinfo=UTC)
    sub = _subscription("premium_business", anchor)
    book = book_of(lot(1, LotSource.ALLOTMENT, 60), lot(2, LotSource.PURCHASE, 5))
    preview = preview_change(book, sub, CATALOG.plan(target), _terms, halfway)
    assert (book.balance, book.entries, book.charges, sub.plan.code, sub.pending_plan) == (
        65,
        [],
        [],
        "premium_business",
        None,
    )
    done = change_plan(book, sub, CATALOG.plan(target), _terms, halfway, "sub_2")
    assert (preview.change.kind, preview.change.granted, preview.change.charged) == (
        done.kind,
        done.granted,
        done.charged,
    )
    assert preview.change.effective_at == done.effective_at
    coming = preview.next_renewal
    assert coming is not None
    assert coming.forfeit == forfeit_at_next_renewal(book, sub, _terms)
    assert coming.plan.code == target


def test_prorated_fee_is_never_negative() -> None:
    assert prorated_fee(Money(900, "USD"), Money(100, "USD"), 1, 2) == Money(0, "USD")


def test_overage_buys_enough_packs_for_the_shortfall() -> None:
    assert overage_packs(1, Pack("pack_1", 1, Money(1000, "USD"))) == 1
    assert overage_packs(7, Pack("pack_5", 5, Money(4500, "USD"))) == 2


def test_overage_within_the_limit_is_allowed_and_beyond_it_refused() -> None:
    settings = OverageSettings(auto_overage=True, limit_minor=2000)
    check_overage(settings, Money(1000, "USD"), Money(1000, "USD"))
    with pytest.raises(OverageLimitReached, match=r"limit of 20\.00 USD"):
        check_overage(settings, Money(1500, "USD"), Money(1000, "USD"))


def test_money_refuses_a_malformed_currency() -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money(100, "usd")


def test_a_credit_back_after_a_renewal_at_the_cap_forfeits_plan_credits_only() -> None:
    plan = lot(1, LotSource.ALLOTMENT, 0)
    pack = lot(2, LotSource.PURCHASE, 0, expires_in_days=30)
    expired = lot(3, LotSource.PURCHASE, 0, expires_in_days=-1)
    for taken in (plan, pack, expired):
        taken.granted = 1
    book = book_of(plan, pack, expired)

    stays = credit_back(
        book, [(plan, 1), (pack, 1), (expired, 1)], NOW, "inmail:1", capped_since=True
    )

    assert stays == 1
    assert (book.balance, plan.remaining, pack.remaining, expired.remaining) == (1, 0, 1, 0)
    assert [(e.kind, e.amount) for e in book.entries] == [
        (EntryKind.REFUND, 1),
        (EntryKind.FORFEIT, -1),
        (EntryKind.REFUND, 1),
        (EntryKind.REFUND, 1),
        (EntryKind.EXPIRE, -1),
    ]


def test_a_credit_back_keeps_plan_credits_when_no_renewal_since_reached_the_cap() -> None:
    plan = lot(1, LotSource.ALLOTMENT, 0)
    plan.granted = 1
    book = book_of(plan)
    assert credit_back(book, [(plan, 1)], NOW, "inmail:1", capped_since=False) == 1
    assert plan.remaining == 1


@pytest.mark.parametrize(
    ("after", "cap", "forfeited", "at_cap"),
    [
        (75, 75, 10, True),
        (75, 75, 0, True),  # exactly at the cap: one more would have been forfeited
        (74, 75, 0, False),
        (0, 0, 0, True),  # a cancel's last renewal: Basic keeps no plan credit
        (None, 75, 3, True),  # recorded before plan_credits_after was kept
        (None, 75, 0, False),
    ],
)
def test_a_renewal_is_at_the_cap_when_one_more_credit_would_have_been_forfeited(
    after: int | None, cap: int, forfeited: int, at_cap: bool
) -> None:
    assert RenewalOutcome(after, cap, forfeited).at_cap is at_cap


def test_a_charge_dearer_than_the_one_shown_is_refused() -> None:
    check_agreed_charge(Money(1000, "USD"), 1000, "this pack")
    check_agreed_charge(Money(1000, "USD"), None, "this pack")  # the API: what the rules bill
    check_agreed_charge(None, 0, "this plan change")  # nothing billed, nothing shown
    with pytest.raises(
        CostChanged, match=r"this pack now bills 12\.00 USD, but you were shown 10\.00 USD"
    ):
        check_agreed_charge(Money(1200, "USD"), 1000, "this pack")
    with pytest.raises(CostChanged, match=r"bills 10\.00 USD, but you were shown no charge"):
        check_agreed_charge(Money(1000, "USD"), 0, "sending (an overage purchase)")
