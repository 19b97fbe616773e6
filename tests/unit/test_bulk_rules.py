"""The rules of a bulk send, without a database (domain/bulk.py): who is written to and how,
the A/B alternation, and paying for the sends (the confirmed total, overage, the stop)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from inmail.domain.bulk import (
    Connections,
    Facts,
    Outcome,
    Planned,
    Refusal,
    check_recipients,
    plan_recipients,
    way_to,
)
from inmail.domain.bulk_budget import (
    NOTHING_CONFIRMED,
    Confirmed,
    Overage,
    Wallet,
    apply_budget,
)
from inmail.domain.errors import (
    DomainError,
    TemplatePlaceholderMissing,
    ValidationError,
)
from inmail.domain.messaging import AwaitingInmail, Channel, Reach
from inmail.domain.money import Money
from inmail.domain.plans import default_catalog
from inmail.domain.purchases import OverageSettings
from inmail.domain.teams import Seat, SeatAllowance
from inmail.domain.templates import Letter, Missing, Variant

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLANS = default_catalog()
PAID = PLANS.plan("premium_business")
BASIC = PLANS.plan("basic")
PACK_1 = PLANS.pack("pack_1")  # 1 credit, 10.00 USD: the default overage pack
PACK_5 = PLANS.pack("pack_5")
ME = "m_me"
A = Letter("Hello A", "Body A")
B = Letter("Hello B", "Body B")


def facts(
    *, b: bool = True, you_blocked: bool = False, missing: tuple[Variant, ...] = (), **reach: object
) -> Facts:
    base: dict[str, object] = {
        "sender_plan": PAID,
        "connected": False,
        "blocked": you_blocked,
        "recipient_accepts_inmail": True,
        "recipient_open_profile": False,
        "open_conversation": False,
    }
    letters: dict[Variant, Letter | DomainError] = {Variant.A: A}
    if b:
        letters[Variant.B] = B
    for variant in missing:
        letters[variant] = TemplatePlaceholderMissing(
            "no value for {company}", [Missing("company", "body")], "m_x"
        )
    return Facts(Reach(**{**base, **reach}), you_blocked, letters)  # type: ignore[arg-type]


def plan(
    recipients: list[str],
    known: dict[str, Facts],
    *,
    connections: Connections = Connections.MESSAGE,
    has_b: bool = True,
) -> list[Planned]:
    return plan_recipients(ME, recipients, known, connections=connections, plan=PAID, has_b=has_b)


def codes(planned: list[Planned]) -> list[str | None]:
    return [None if p.refusal is None else p.refusal.code for p in planned]


def sends(count: int, cost: int = 1) -> list[Planned]:
    return [
        Planned(i, f"m_{i}", Outcome.SEND, Channel.INMAIL, cost, Variant.A, A)
        for i in range(1, count + 1)
    ]


def overage(limit_minor: int | None = None, spent_minor: int = 0, pack: object = PACK_1) -> Overage:
    return Overage(pack, OverageSettings(True, limit_minor), Money(spent_minor, "USD"))  # type: ignore[arg-type]


# ---- who is written to, and how ----------------------------------------------------------------


def test_a_stranger_gets_an_inmail_at_the_plans_cost() -> None:
    assert way_to(facts(), Connections.MESSAGE, PAID) == way_to(facts(), Connections.SKIP, PAID)
    way = way_to(facts(), Connections.MESSAGE, PAID)
    assert not isinstance(way, Refusal)
    assert (way.channel, way.cost) == (Channel.INMAIL, PAID.inmail_cost)


def test_an_open_profile_is_free_even_from_basic() -> None:
    way = way_to(facts(recipient_open_profile=True, sender_plan=BASIC), Connections.SKIP, BASIC)
    assert not isinstance(way, Refusal)
    assert (way.channel, way.cost) == (Channel.OPEN_PROFILE, 0)


def test_a_connection_gets_a_free_message_or_is_skipped_as_the_member_chose() -> None:
    connected = facts(connected=True)
    way = way_to(connected, Connections.MESSAGE, PAID)
    assert not isinstance(way, Refusal)
    assert (way.channel, way.cost) == (Channel.MESSAGE, 0)
    skipped = way_to(connected, Connections.SKIP, PAID)
    assert isinstance(skipped, Refusal)
    assert skipped.code == "recipient-is-connection"
    assert "skip connections" in skipped.detail


def test_a_member_you_blocked_is_named_so_one_who_blocked_you_reads_as_no_inmail() -> None:
    mine = way_to(facts(you_blocked=True), Connections.MESSAGE, PAID)
    assert isinstance(mine, Refusal)
    assert mine.code == "recipient-blocked"
    theirs = way_to(facts(blocked=True), Connections.MESSAGE, PAID)
    assert isinstance(theirs, Refusal)
    assert theirs.code == "recipient-not-accepting-inmail"
    assert "block" not in theirs.detail  # never revealing that they blocked you
    connected_but_blocked = way_to(facts(connected=True, blocked=True), Connections.MESSAGE, PAID)
    assert isinstance(connected_but_blocked, Refusal)  # no free message past a block either


def test_inmail_off_and_no_inmail_on_the_plan_are_refused_in_words() -> None:
    off = way_to(facts(recipient_accepts_inmail=False), Connections.MESSAGE, PAID)
    assert isinstance(off, Refusal)
    assert off.code == "recipient-not-accepting-inmail"
    basic = way_to(facts(sender_plan=BASIC), Connections.MESSAGE, BASIC)
    assert isinstance(basic, Refusal)
    assert basic.code == "inmail-not-on-plan"
    assert "the Basic (free) plan does not include InMail" in basic.detail


def test_an_inmail_awaiting_a_response_is_named_with_its_follow_up_date() -> None:
    waiting = AwaitingInmail("th_1", NOW - timedelta(days=2), 0)
    refusal = way_to(facts(awaiting=waiting), Connections.MESSAGE, PAID)
    assert isinstance(refusal, Refusal)
    assert refusal.code == "inmail-already-awaiting-response"
    assert refusal.thread_id == "th_1"
    assert refusal.follow_up_at == NOW + timedelta(days=5)  # 7 days after the InMail
    used = way_to(facts(awaiting=replace(waiting, followups_sent=1)), Connections.MESSAGE, PAID)
    assert isinstance(used, Refusal)
    assert used.follow_up_at is None  # its one follow-up is used: wait for the response


def test_duplicates_yourself_and_unknown_ids_are_not_sent_and_say_why() -> None:
    planned = plan(["m_1", ME, "m_ghost", "m_1", "m_2"], {"m_1": facts(), "m_2": facts()})
    assert [p.outcome for p in planned] == [
        Outcome.SEND,
        Outcome.NOT_SENT,
        Outcome.NOT_SENT,
        Outcome.NOT_SENT,
        Outcome.SEND,
    ]
    assert codes(planned) == [None, "recipient-is-you", "not-found", "duplicate-recipient", None]
    assert planned[3].refusal is not None
    assert "#1" in planned[3].refusal.detail
    assert [p.position for p in planned] == [1, 2, 3, 4, 5]


def test_variants_alternate_over_the_recipients_written_to() -> None:
    known = {f"m_{i}": facts() for i in range(1, 6)}
    known["m_2"] = facts(recipient_accepts_inmail=False)  # refused: takes no turn
    planned = plan([f"m_{i}" for i in range(1, 6)], known)
    assert [p.variant for p in planned] == [Variant.A, None, Variant.B, Variant.A, Variant.B]
    assert [p.letter for p in planned] == [A, None, B, A, B]


def test_a_template_without_b_sends_a_to_everyone() -> None:
    known = {f"m_{i}": facts(b=False) for i in range(1, 4)}
    planned = plan(list(known), known, has_b=False)
    assert [p.variant for p in planned] == [Variant.A] * 3


def test_a_missing_placeholder_refuses_that_recipient_and_the_next_takes_its_turn() -> None:
    known = {"m_1": facts(), "m_2": facts(missing=(Variant.B,)), "m_3": facts()}
    planned = plan(["m_1", "m_2", "m_3"], known)
    assert codes(planned) == [None, "template-placeholder-missing", None]
    assert planned[1].refusal is not None
    assert planned[1].refusal.missing == ("company",)
    assert [p.variant for p in planned] == [Variant.A, None, Variant.B]


def test_connections_take_their_turn_in_the_alternation_when_messaged() -> None:
    known = {"m_1": facts(connected=True), "m_2": facts()}
    messaged = plan(["m_1", "m_2"], known)
    assert [(p.channel, p.cost, p.variant) for p in messaged] == [
        (Channel.MESSAGE, 0, Variant.A),
        (Channel.INMAIL, 1, Variant.B),
    ]
    skipped = plan(["m_1", "m_2"], known, connections=Connections.SKIP)
    assert [p.variant for p in skipped] == [None, Variant.A]


def test_at_most_the_limit_of_recipients_and_at_least_one() -> None:
    check_recipients(["m_1"] * 500, 500)
    with pytest.raises(ValidationError, match="at most 500 recipients, not 501") as too_many:
        check_recipients(["m_1"] * 501, 500)
    assert too_many.value.field == "recipients"
    with pytest.raises(ValidationError, match="at least one"):
        check_recipients([], 500)


# ---- paying for the sends -----------------------------------------------------------------------


def test_credits_on_hand_pay_and_the_totals_add_up() -> None:
    planned = [*sends(3), Planned(4, "m_4", Outcome.NOT_SENT, refusal=Refusal("x", "y"))]
    planned.append(Planned(5, "m_5", Outcome.SEND, Channel.MESSAGE, 0, Variant.B, B))
    budgeted = apply_budget(planned, Wallet(10, None), NOTHING_CONFIRMED)
    totals = budgeted.totals
    assert (totals.recipients, totals.to_send, totals.inmails, totals.messages) == (5, 4, 3, 1)
    assert (totals.not_sent, totals.credits_needed, totals.credits_to_spend) == (1, 3, 3)
    assert (totals.credits_available, totals.overage_packs, totals.overage_charge) == (10, 0, None)
    assert budgeted.stop is None


def test_no_credits_and_no_overage_stops_at_the_first_send_it_cannot_pay() -> None:
    wallet = Wallet(2, None, "automatic overage is turned off")
    planned = [*sends(4)]
    planned.insert(3, Planned(4, "m_free", Outcome.SEND, Channel.OPEN_PROFILE, 0, Variant.A, A))
    budgeted = apply_budget(planned, wallet, NOTHING_CONFIRMED)
    assert codes(budgeted.recipients) == [None, None, "insufficient-credits", "stopped", "stopped"]
    assert budgeted.stop is not None
    assert budgeted.stop.position == 3
    refusal = budgeted.recipients[2].refusal
    assert refusal is not None
    assert "automatic overage is turned off" in refusal.detail
    assert budgeted.totals.credits_to_spend == 2
    assert budgeted.totals.credits_needed == 4
    assert budgeted.totals.to_send == 2


def test_a_seats_monthly_cap_stops_the_bulk_where_the_send_would_pass_it() -> None:
    """The pool holds plenty; the seat has used 1 of its 3 this month: two sends go, the
    third is refused as a single send would be (naming the cap and the admins) and stops
    the bulk like an empty pool."""
    seat = SeatAllowance(Seat("m_me", "tm_1", False, 3, NOW), 1, ("Ada", "Grace"))
    budgeted = apply_budget(sends(4), Wallet(50, None, seat=seat), NOTHING_CONFIRMED)
    assert codes(budgeted.recipients) == [None, None, "seat-cap-reached", "stopped"]
    assert budgeted.stop is not None
    assert budgeted.stop.position == 3
    refusal = budgeted.recipients[2].refusal
    assert refusal is not None
    assert refusal.detail == (
        "your seat has used 3 of its 3 credits this month (a cap set by Ada, Grace); "
        "ask them to raise it"
    )
    assert (budgeted.totals.credits_to_spend, budgeted.totals.to_send) == (2, 2)


def test_a_seat_without_a_cap_or_under_it_sends_everyone() -> None:
    open_seat = SeatAllowance(Seat("m_me", "tm_1", False, None, NOW), 40, ())
    under = SeatAllowance(Seat("m_me", "tm_1", False, 10, NOW), 6, ())
    for seat in (open_seat, under):
        budgeted = apply_budget(sends(4), Wallet(50, None, seat=seat), NOTHING_CONFIRMED)
        assert codes(budgeted.recipients) == [None] * 4
        assert budgeted.stop is None


def test_a_seat_at_its_cap_still_sends_what_costs_nothing_before_the_first_inmail() -> None:
    seat = SeatAllowance(Seat("m_me", "tm_1", False, 2, NOW), 2, ())
    free = Planned(1, "m_free", Outcome.SEND, Channel.OPEN_PROFILE, 0, Variant.A, A)
    paid = [replace(p, position=p.position + 1) for p in sends(2)]
    budgeted = apply_budget([free, *paid], Wallet(50, None, seat=seat), NOTHING_CONFIRMED)
    assert codes(budgeted.recipients) == [None, "seat-cap-reached", "stopped"]
    refusal = budgeted.recipients[1].refusal
    assert refusal is not None
    assert "your team's admin" in refusal.detail


def test_overage_buys_packs_for_the_shortfall_and_says_the_money() -> None:
    budgeted = apply_budget(sends(4), Wallet(1, overage()), NOTHING_CONFIRMED)
    assert [p.outcome for p in budgeted.recipients] == [Outcome.SEND] * 4
    assert [p.overage for p in budgeted.recipients] == [None] + [Money(1000, "USD")] * 3
    assert budgeted.totals.overage_packs == 3
    assert budgeted.totals.overage_charge == Money(3000, "USD")
    assert budgeted.totals.credits_to_spend == 4


def test_a_bigger_overage_pack_leaves_credits_for_the_next_sends() -> None:
    budgeted = apply_budget(sends(6), Wallet(0, overage(pack=PACK_5)), NOTHING_CONFIRMED)
    assert budgeted.totals.overage_packs == 2  # 5 credits, then 5 more for the sixth
    assert budgeted.totals.overage_charge == PACK_5.price.times(2)
    assert [p.overage is not None for p in budgeted.recipients] == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]


def test_the_overage_limit_stops_the_bulk_where_it_would_be_passed() -> None:
    # 15.00 USD spent on overage this cycle already, a limit of 35.00: two more packs.
    budgeted = apply_budget(sends(5), Wallet(1, overage(3500, 1500)), NOTHING_CONFIRMED)
    assert codes(budgeted.recipients) == [None, None, None, "overage-limit-reached", "stopped"]
    assert budgeted.totals.overage_charge == Money(2000, "USD")
    assert budgeted.totals.credits_to_spend == 3


def test_overage_money_beyond_what_was_confirmed_stops_the_bulk() -> None:
    confirmed = Confirmed(credits=10, overage_minor=1000)
    budgeted = apply_budget(sends(4), Wallet(1, overage()), confirmed)
    assert codes(budgeted.recipients) == [None, None, "cost-changed", "stopped"]
    assert budgeted.totals.overage_charge == Money(1000, "USD")
    nothing = apply_budget(sends(2), Wallet(1, overage()), Confirmed(10, 0))
    refusal = nothing.recipients[1].refusal
    assert refusal is not None
    assert "you confirmed no overage" in refusal.detail


def test_sends_past_the_confirmed_total_are_not_sent_but_free_ones_still_are() -> None:
    planned = [*sends(4)]
    planned.append(Planned(5, "m_open", Outcome.SEND, Channel.OPEN_PROFILE, 0, Variant.A, A))
    budgeted = apply_budget(planned, Wallet(25, None), Confirmed(credits=2))
    assert codes(budgeted.recipients) == [
        None,
        None,
        "over-confirmed-total",
        "over-confirmed-total",
        None,
    ]
    assert budgeted.stop is None
    assert budgeted.totals.credits_to_spend == 2
    assert budgeted.totals.credits_needed == 4
    refusal = budgeted.recipients[2].refusal
    assert refusal is not None
    assert "confirmed total of 2 credit(s)" in refusal.detail


def test_the_confirmed_total_never_lets_overage_buy_more_than_was_confirmed() -> None:
    budgeted = apply_budget(sends(3), Wallet(0, overage()), Confirmed(credits=1))
    assert codes(budgeted.recipients) == [None, "over-confirmed-total", "over-confirmed-total"]
    assert budgeted.totals.overage_charge == Money(1000, "USD")


def test_a_dry_run_total_confirmed_as_is_sends_exactly_what_it_showed() -> None:
    wallet = Wallet(2, overage(5000))
    shown = apply_budget(sends(6), wallet, NOTHING_CONFIRMED)
    charge = shown.totals.overage_charge
    assert charge is not None
    confirmed = Confirmed(shown.totals.credits_to_spend, charge.amount_minor)
    again = apply_budget(sends(6), wallet, confirmed)
    assert again.totals == shown.totals
    assert codes(again.recipients) == codes(shown.recipients)
