"""The message coach: tips on a draft, from the coach's rules and the facts of one read (SPEC §8).

The rules are pure (:mod:`inmail.domain.coach`); this module checks the draft like a
send checks its text, gathers what is true about the recipient and the pair in one read
transaction, and runs them. Nothing is written (but a due renewal, as any read as of now).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from inmail.config import Settings
from inmail.domain.coach import (
    DRAFT_BODY,
    DRAFT_SUBJECT,
    Awaiting,
    Draft,
    Facts,
    Thresholds,
    Tip,
    awaiting,
    coach,
)
from inmail.domain.cycles import require_utc
from inmail.domain.errors import DomainError, ValidationError
from inmail.domain.messaging import Reach, Route, cheapest_route
from inmail.domain.plans import Plan
from inmail.domain.reading import in_common, name_parts
from inmail.services.context import Deps, current_account, is_due
from inmail.services.reach import gather_reach
from inmail.services.seats import payer_as_of, read_payer
from inmail.store import accounts as account_store
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store import social
from inmail.store.accounts import Account
from inmail.store.messaging import ThreadRecord

MUTUALS_NAMED = 3  # mutual connections a tip may name as introducers


def thresholds(settings: Settings) -> Thresholds:
    """The deployment's ``INMAIL_COACH_*`` settings as the rules' thresholds."""
    return Thresholds(
        long_message_words=settings.coach_long_message_words,
        subject_max_chars=settings.coach_subject_max_chars,
        subject_capitals_percent=settings.coach_subject_capitals_percent,
        subject_capitals_min_letters=settings.coach_subject_capitals_min_letters,
        max_links=settings.coach_max_links,
    )


def coach_draft(
    deps: Deps,
    *,
    member_id: str,
    to: str | None,
    subject: str,
    body: str,
    now: datetime,
    limits: Thresholds,
) -> list[Tip]:
    """The coach's tips on a draft from ``member_id`` (to ``to``, if named), most severe first.

    ``subject`` and ``body`` follow a send's text rules but may be empty (a half-written
    draft). Raises ValidationError for such text, or for ``to`` being yourself, and
    UnknownMember (404) for a ``to`` that names nobody.
    """
    require_utc(now)
    draft = Draft(
        DRAFT_SUBJECT.check(subject, field="subject"), DRAFT_BODY.check(body, field="body")
    )
    facts = None if to is None else gather_facts(deps, member_id, to, now)
    return coach(draft, facts, limits, now)


def gather_facts(deps: Deps, member_id: str, to: str, now: datetime) -> Facts:
    """What the rules need to know about ``to`` and the pair, in one read.

    As :func:`inmail.services.reach.reach_between`: the recipient's account is read
    with the rest, and only when a renewal of theirs is due is it applied first (in a
    write of its own) and the facts read again. The route is judged on the plan the
    member sends on (their team's while they hold a seat: ``seats.Payer``), as the quote.
    """
    if member_id == to:
        raise ValidationError("that is you: pick another member", field="to")
    own = current_account(deps, member_id, now)
    with deps.db.read() as conn:
        payer = read_payer(deps, conn, own, now)  # a seat sends on its team's plan
        recipient = account_store.read_account(conn, to, deps.plans.lookup(conn))
        stale = recipient is None or is_due(recipient.next_due_at, now) or payer.due(now)
        if recipient is not None and not stale:
            return _facts(deps, conn, payer.sender, recipient)
    payer = payer_as_of(deps, member_id, now)
    recipient = current_account(deps, to, now)  # raises UnknownMember for nobody
    with deps.db.read() as conn:
        return _facts(deps, conn, payer.sender, recipient)


def _facts(deps: Deps, conn: Connection, sender: Account, recipient: Account) -> Facts:
    me, them = sender.member_id, recipient.member_id
    reach = gather_reach(deps, conn, sender, recipient)
    route, refusal = _route(reach)
    people = {m.id: m for m in member_store.members_by_id(conn, [me, them])}
    mine, theirs = people[me], people[them]
    first, last = name_parts(theirs.name)
    # Nobody is offered as an introducer, nor a group as common ground, across a block.
    groups = [] if reach.blocked else social.shared_groups(conn, me, them)
    mutuals = (
        [] if reach.blocked else network_store.mutual_connections(conn, me, them, MUTUALS_NAMED)
    )
    names = {m.id: m.name for m in member_store.members_by_id(conn, mutuals)}
    thread = message_store.inmail_awaiting_from(conn, me, them)
    return Facts(
        name=theirs.name,
        first_name=first,
        last_name=last,
        route=route,
        refusal=refusal,
        shared_groups=tuple(g.name for g in groups),
        shared_schools=in_common([mine.school], [theirs.school]),
        shared_companies=in_common([mine.company], [theirs.company]),
        shared_interests=in_common(mine.interests, theirs.interests),
        mutual_connections=tuple(names[m] for m in mutuals if m in names),
        awaiting=_awaiting(thread, sender.subscription.plan),
    )


def _route(reach: Reach) -> tuple[Route | None, str | None]:
    """The cheapest route, or None and the reason an InMail would be refused."""
    try:
        return cheapest_route(reach), None
    except DomainError as refused:
        return None, refused.message


def _awaiting(thread: ThreadRecord | None, plan: Plan) -> Awaiting | None:
    if thread is None or thread.last_inmail_at is None:
        return None
    return awaiting(
        thread.id, thread.created_at, thread.last_inmail_at, thread.followups_sent, plan
    )
