"""A ledger line's meaning in a member's words (domain.statement), and the packs cheaper than
overage (domain.purchases)."""

from __future__ import annotations

from dataclasses import replace

from inmail.domain.credits import ChargeKind
from inmail.domain.money import Money
from inmail.domain.plans import Pack, default_catalog
from inmail.domain.purchases import packs_cheaper_than_overage
from inmail.domain.statement import ChargeFact, Described, Facts, SentFact, describe, wanted

CATALOG = default_catalog()
FACTS = Facts(
    messages={
        "msg_1": SentFact("th_1", "Ada Lovelace"),
        "msg_2": SentFact("th_1", "Ada Lovelace", followup=True),
    },
    charges={
        "ch_pack": ChargeFact(ChargeKind.PACK, 5),
        "ch_over": ChargeFact(ChargeKind.OVERAGE, 1),
        "ch_refund": ChargeFact(ChargeKind.REFUND, -3),
    },
    plans={"recruiter": "Recruiter"},
)


def test_a_renewal_is_named_by_its_cycle_counted_from_one() -> None:
    said = describe("grant", "allotment", "cycle:sub_6ae08b:2", FACTS)
    assert said == Described("Renewal, cycle 3: plan credits")


def test_a_forfeit_at_renewal_says_the_cap_took_them() -> None:
    said = describe("forfeit", "allotment", "cycle:sub_6ae08b:0", FACTS)
    assert said.text == "Forfeited above the rollover cap at the renewal, cycle 1"


def test_an_inmail_spend_names_the_recipient_and_links_the_thread() -> None:
    assert describe("spend", "allotment", "inmail:msg_1", FACTS) == Described(
        "InMail to Ada Lovelace", "th_1"
    )
    assert describe("spend", "purchase", "inmail:msg_2", FACTS).text == "Follow-up to Ada Lovelace"
    assert describe("refund", "allotment", "inmail:msg_1", FACTS).text == (
        "Credited back: InMail to Ada Lovelace"
    )


def test_packs_overage_and_proration_say_what_was_bought() -> None:
    assert describe("grant", "purchase", "charge:ch_pack", FACTS).text == "Pack of 5"
    assert describe("grant", "overage", "charge:ch_over", FACTS).text == (
        "Overage: 1 credit bought automatically"
    )
    assert describe("grant", "allotment", "proration:sub_1:0:recruiter", FACTS).text == (
        "Upgrade to Recruiter: prorated plan credits for the rest of the cycle"
    )


def test_expiries_adjustments_and_unknown_references_are_told_plainly() -> None:
    assert describe("expire", "purchase", "lot:7", FACTS).text == (
        "Expired: purchased credits reached the end of their lifetime"
    )
    assert describe("adjustment", "adjustment", "adjustment:goodwill", FACTS).text == (
        "Adjustment by the operator: goodwill"
    )
    # An API caller's own reference is shown as they wrote it, after what the line did.
    assert describe("spend", "allotment", "order:42", FACTS).text == "Spent: order:42"
    # A message or charge that cannot be found: no link, nothing invented.
    assert describe("spend", "allotment", "inmail:msg_gone", FACTS) == Described(
        "Spent: inmail:msg_gone"
    )


def test_a_refunds_clawback_says_the_operator_took_back_the_packs_unused_credits() -> None:
    assert describe("adjustment", "purchase", "charge:ch_refund", FACTS).text == (
        "Refunded by the operator: unused credits of the pack taken back"
    )
    assert describe("expire", "adjustment", "lot:9", FACTS).text == (
        "Expired: credits from an adjustment reached the end of their lifetime"
    )


def test_wanted_names_the_messages_and_charges_to_look_up() -> None:
    refs = ["inmail:msg_1", "charge:ch_pack", "cycle:sub:1", "lot:3", "inmail:"]
    assert wanted(refs) == ({"msg_1"}, {"ch_pack"})


def test_packs_cheaper_per_credit_than_overage_are_offered_cheapest_first() -> None:
    plan = CATALOG.plan("premium_business")
    packs = list(CATALOG.packs.values())
    cheaper = packs_cheaper_than_overage(plan, packs)
    # Overage buys pack_1 (10.00 a credit); 25 for 200.00 is 8.00 a credit, 10 for 85.00 8.50.
    assert [c.pack.code for c in cheaper] == ["pack_25", "pack_10", "pack_5"]
    assert (cheaper[0].per_credit, cheaper[0].overage_per_credit) == (
        Money(800, "USD"),
        Money(1000, "USD"),
    )


def test_no_pack_is_offered_when_none_is_cheaper_or_the_plan_cannot_buy_packs() -> None:
    plan = CATALOG.plan("premium_business")
    dear = [Pack("pack_1", 1, Money(1000, "USD")), Pack("pack_5", 5, Money(5000, "USD"))]
    assert packs_cheaper_than_overage(plan, dear) == []
    no_packs = replace(plan, packs=False)
    assert packs_cheaper_than_overage(no_packs, CATALOG.packs.values()) == []
