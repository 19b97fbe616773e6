"""What a ledger line means, in a member's words (SPEC §3: every line has a reference).

The ledger keeps machine references ("cycle:sub_6ae0…:2", "inmail:msg_…",
"charge:ch_…"); the API and the CSV export keep them as they are. A member's
statement shows what each one means instead: "Renewal, cycle 3", "InMail to
Ada Lovelace" (with the thread to open), "Pack of 5". :func:`describe` reads
a reference with the few facts it names (the InMail's recipient, the charge's
pack), which the caller looks up first (:func:`wanted`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inmail.domain.credits import ChargeKind, EntryKind, LotSource


@dataclass(frozen=True, slots=True)
class SentFact:
    """The message a spend paid for: its thread, the recipient's name, and its kind."""

    thread_id: str
    recipient: str
    followup: bool = False


@dataclass(frozen=True, slots=True)
class ChargeFact:
    kind: ChargeKind
    credits: int | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the references of a page of lines name: messages and charges by id,
    plan names by code."""

    messages: Mapping[str, SentFact] = field(default_factory=dict)
    charges: Mapping[str, ChargeFact] = field(default_factory=dict)
    plans: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Described:
    """A line's meaning: ``text`` to show, and the thread it concerns (None: no link)."""

    text: str
    thread_id: str | None = None


def wanted(references: Iterable[str]) -> tuple[set[str], set[str]]:
    """The (message ids, charge ids) that ``references`` name: the facts to look up."""
    messages: set[str] = set()
    charges: set[str] = set()
    for reference in references:
        prefix, _, rest = reference.partition(":")
        if prefix == "inmail" and rest:
            messages.add(rest)
        elif prefix == "charge" and rest:
            charges.add(rest)
    return messages, charges


_SOURCES = {
    LotSource.ALLOTMENT: "plan credits",
    LotSource.PURCHASE: "purchased credits",
    LotSource.OVERAGE: "overage credits",
    LotSource.ADJUSTMENT: "credits from an adjustment",
    LotSource.REFUND: "credits given back",
}

_KINDS = {
    EntryKind.GRANT: "Credits granted",
    EntryKind.SPEND: "Spent",
    EntryKind.FORFEIT: "Forfeited",
    EntryKind.EXPIRE: "Expired",
    EntryKind.REFUND: "Credited back",
    EntryKind.ADJUSTMENT: "Adjustment",
}


def describe(kind: str, source: str, reference: str, facts: Facts) -> Described:
    """What the line ``kind`` on a lot of ``source`` with ``reference`` means.

    A reference this module does not know (a spend through the API names its own)
    is shown as the member wrote it, after what the line did: "Spent: order 42".
    """
    prefix, _, rest = reference.partition(":")
    entry = EntryKind(kind) if kind in EntryKind._value2member_map_ else None
    if prefix == "cycle":
        return Described(_cycle_words(entry, rest))
    if prefix == "proration":
        return Described(_proration_words(rest, facts))
    if prefix == "charge" and rest in facts.charges:
        return Described(_charge_words(entry, facts.charges[rest]))
    if prefix == "inmail" and rest in facts.messages:
        return _inmail_words(entry, facts.messages[rest])
    if prefix == "lot" and entry is EntryKind.EXPIRE:
        return Described(f"Expired: {_source_words(source)} reached the end of their lifetime")
    if prefix == "adjustment":
        return Described(f"Adjustment by the operator: {rest}")
    what = _KINDS.get(entry, kind.capitalize()) if entry else kind.capitalize()
    return Described(f"{what}: {reference}")


def _source_words(source: str) -> str:
    try:
        return _SOURCES[LotSource(source)]
    except ValueError:
        return "credits"


def _cycle_words(entry: EntryKind | None, rest: str) -> str:
    # The reference counts cycles from 0; people count the first cycle as cycle 1.
    index = rest.rpartition(":")[2]
    cycle = f"cycle {int(index) + 1}" if index.isdigit() else "a new cycle"
    if entry is EntryKind.FORFEIT:
        return f"Forfeited above the rollover cap at the renewal, {cycle}"
    if entry is EntryKind.EXPIRE:
        return f"Expired at the renewal, {cycle}"
    return f"Renewal, {cycle}: plan credits"


def _proration_words(rest: str, facts: Facts) -> str:
    parts = rest.split(":")  # subscription, cycle index, plan code
    plan = facts.plans.get(parts[-1], parts[-1]) if len(parts) == 3 else "a bigger plan"
    return f"Upgrade to {plan}: prorated plan credits for the rest of the cycle"


def _charge_words(entry: EntryKind | None, charge: ChargeFact) -> str:
    credits = charge.credits or 0
    plural = "" if credits == 1 else "s"
    if charge.kind is ChargeKind.REFUND:
        # A refund's line takes back the refunded pack's unused credits (docs/rules.md).
        return "Refunded by the operator: unused credits of the pack taken back"
    if charge.kind is ChargeKind.OVERAGE:
        said = f"Overage: {credits} credit{plural} bought automatically"
    else:
        said = f"Pack of {credits}"
    if entry is EntryKind.EXPIRE:
        return f"Expired: {said}"
    return said


def _inmail_words(entry: EntryKind | None, sent: SentFact) -> Described:
    what = f"{'Follow-up' if sent.followup else 'InMail'} to {sent.recipient}"
    if entry is EntryKind.REFUND:
        what = f"Credited back: {what}"
    elif entry in (EntryKind.EXPIRE, EntryKind.FORFEIT):
        # A credit given back onto a lot that had since lapsed is taken again at once.
        what = f"{_KINDS[entry]} on return: {what}"
    return Described(what, sent.thread_id)
