"""What a bulk send needs to know about its sender and many recipients, in a few reads.

A single send reads the reach between two members in a transaction of its own (several
queries); a bulk send of 500 would pay that 500 times. :func:`gather` reads the same
facts for a whole batch of recipients with one query per fact, renders the template for
all of them in one batch per variant (services.templates.render_batch), and reads the
sender's credits once. It writes nothing: members whose renewal is due are caught up in
memory, as a preview does (services.context.account_in_memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.bulk import Facts
from inmail.domain.bulk_budget import Overage, Wallet
from inmail.domain.credits import Book, spending_order
from inmail.domain.errors import DomainError, UnknownPack
from inmail.domain.messaging import AwaitingInmail, Reach
from inmail.domain.plans import Pack, Plan
from inmail.domain.templates import Letter, Variant
from inmail.services.context import Deps, account_in_memory, is_due
from inmail.services.seats import seat_allowance
from inmail.services.templates import Template, get_template, render_batch
from inmail.store import accounts as account_store
from inmail.store import bulk_facts as facts_store
from inmail.store import catalog as catalog_store
from inmail.store import members as member_store
from inmail.store import teams as team_store
from inmail.store.accounts import Account


@dataclass(frozen=True, slots=True)
class Person:
    """How a listed member is shown: their handle and name."""

    handle: str
    name: str


@dataclass(frozen=True, slots=True)
class Gathered:
    """The facts of a batch: the sender's plan and credits (as of now), the template, and
    for every listed member who exists (the sender aside) what the rules need."""

    plan: Plan
    wallet: Wallet
    template: Template | None  # None when not rendered
    facts: dict[str, Facts]
    people: dict[str, Person]


def gather(
    deps: Deps,
    *,
    owner_id: str,
    template_id: str,
    recipients: Sequence[str],
    now: datetime,
    render: bool = True,
) -> Gathered:
    """The facts for a bulk send of ``template_id`` to ``recipients`` at ``now``; the
    template rendered for each of them unless ``render`` is False (a run sends the text
    rendered when it was confirmed, and only checks the rules again).

    Raises NotFound when the template is not the owner's (or was deleted) and
    UnknownMember when the owner is nobody. A read transaction for everything, and one
    per variant rendered, whatever the number of recipients.
    """
    template = get_template(deps, owner_id=owner_id, template_id=template_id) if render else None
    ids = sorted({r for r in recipients if r != owner_id})
    letters: dict[Variant, dict[str, Letter | DomainError]] = {}
    if template is not None:
        letters[Variant.A] = _letters(deps, owner_id, template_id, ids, now, Variant.A)
        if template.text.b is not None:
            letters[Variant.B] = _letters(deps, owner_id, template_id, ids, now, Variant.B)
    with deps.db.read() as conn:
        seat = team_store.seat_of(conn, owner_id)  # a team seat pays from its team's pool
        payer = owner_id if seat is None else seat.team_id
        sender, book = account_in_memory(deps, conn, payer, now)
        plan = sender.subscription.plan
        wallet = _wallet(conn, sender, book, now)
        if seat is not None:
            wallet = replace(wallet, seat=seat_allowance(conn, seat, now))
        facts = _facts(deps, conn, plan, owner_id, ids, letters, now)
        people = {
            m.id: Person(m.handle, m.name) for m in member_store.members_by_id(conn, list(facts))
        }
    return Gathered(plan, wallet, template, facts, people)


def _letters(
    deps: Deps, owner_id: str, template_id: str, ids: list[str], now: datetime, variant: Variant
) -> dict[str, Letter | DomainError]:
    rendered = render_batch(
        deps, owner_id=owner_id, template_id=template_id, recipients=ids, now=now, variant=variant
    )
    return {
        to: outcome if isinstance(outcome, DomainError) else Letter(outcome.subject, outcome.body)
        for to, outcome in zip(ids, rendered, strict=True)
    }


def _facts(
    deps: Deps,
    conn: Connection,
    plan: Plan,
    owner_id: str,
    ids: list[str],
    letters: dict[Variant, dict[str, Letter | DomainError]],
    now: datetime,
) -> dict[str, Facts]:
    settings = facts_store.settings_of(conn, ids)
    paid = _on_paid_plans(deps, conn, list(settings), now)
    connected = facts_store.connected_to(conn, owner_id, ids)
    mine, theirs = facts_store.blocks_with(conn, owner_id, ids)
    awaiting = facts_store.awaiting_from(conn, owner_id, ids)
    facts: dict[str, Facts] = {}
    for member_id, their in settings.items():
        waiting = awaiting.get(member_id)
        reach = Reach(
            sender_plan=plan,
            connected=member_id in connected,
            blocked=member_id in mine or member_id in theirs,
            recipient_accepts_inmail=their.inmail_open,
            recipient_open_profile=their.open_profile and member_id in paid,
            open_conversation=False,
            awaiting=None
            if waiting is None
            else AwaitingInmail(waiting.thread_id, waiting.last_inmail_at, waiting.followups_sent),
        )
        facts[member_id] = Facts(
            reach,
            you_blocked=member_id in mine,
            letters={variant: found[member_id] for variant, found in letters.items()},
        )
    return facts


def _on_paid_plans(deps: Deps, conn: Connection, ids: list[str], now: datetime) -> set[str]:
    """Those of ``ids`` on a paid plan at ``now`` (only they may open their profile)."""
    plan_of = deps.plans.lookup(conn)
    paid = set()
    for member_id, ref in facts_store.plans_of(conn, ids).items():
        if is_due(ref.next_due_at, now):  # a renewal may have changed their plan: as of now
            plan = account_in_memory(deps, conn, member_id, now)[0].subscription.plan
        else:
            plan = plan_of(ref.code, ref.version)
        if plan.is_paid:
            paid.add(member_id)
    return paid


def _wallet(conn: Connection, sender: Account, book: Book, now: datetime) -> Wallet:
    """The sender's usable credits and the overage their plan and settings allow."""
    available = sum(lot.remaining for lot in spending_order(book.lots, now))
    plan = sender.subscription.plan
    if not plan.overage:
        return Wallet(available, None, f"the {plan.name} plan has no automatic overage")
    if not sender.overage.auto_overage:
        return Wallet(available, None, "automatic overage is turned off")
    pack = _pack(conn, plan.overage_pack)
    cycle = sender.subscription.current_cycle(now)
    since = cycle.start if cycle is not None else now
    spent = account_store.overage_spent_since(conn, sender.member_id, since, pack.price.currency)
    return Wallet(available, Overage(pack, sender.overage, spent))


def _pack(conn: Connection, code: str) -> Pack:
    for pack in catalog_store.all_packs(conn):
        if pack.code == code:
            return pack
    raise UnknownPack(f"there is no credit pack {code!r}")
