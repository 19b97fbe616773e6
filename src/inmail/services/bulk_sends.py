"""Bulk sends: the dry run, starting one, and what became of it (issue 10 §6;
docs/rules.md "Bulk sends"). Sending is services.bulk_runs.

- :func:`dry_run` plans the whole bulk send (domain.bulk) and writes nothing.
- :func:`start_bulk_send` plans it the same way and stores it, keyed by the client's
  ``Idempotency-Key``: the bulk send and each recipient's planned outcome, those that
  can be written to as ``pending``. The sends happen after (services.bulk_runs), each
  its own atomic charge with its own key derived from the bulk send's id, of the text
  rendered here (what is sent is what was confirmed).
- :func:`get_bulk_send` and :func:`list_bulk_sends` show them to their owner only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inmail.domain.bulk import (
    Connections,
    Outcome,
    Planned,
    Refusal,
    Status,
    check_recipients,
    plan_recipients,
)
from inmail.domain.bulk_budget import Budgeted, Confirmed, apply_budget
from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound, ValidationError
from inmail.services.bulk_facts import Gathered, Person, gather
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write, stored_answer
from inmail.services.reputation import check_may_bulk_send
from inmail.store import bulk_facts as facts_store
from inmail.store import bulk_sends as bulk_store
from inmail.store.bulk_sends import BulkRecord, RecipientRecord


@dataclass(frozen=True, slots=True)
class BulkRequest:
    """What the member asks: ``template_id`` to ``recipients`` (member ids, in order),
    what to do with connections, and the caps they confirmed (credits; overage money in
    minor units of the overage pack's currency; None: no cap)."""

    template_id: str
    recipients: tuple[str, ...]
    connections: Connections = Connections.MESSAGE
    max_credits: int | None = None
    max_overage_minor: int | None = None

    def identity(self) -> dict[str, Any]:
        """What an Idempotency-Key guards: the request as the member sent it."""
        return {
            "template_id": self.template_id,
            "recipients": list(self.recipients),
            "connections": self.connections.value,
            "max_credits": self.max_credits,
            "max_overage_minor": self.max_overage_minor,
        }


@dataclass(frozen=True, slots=True)
class DryRun:
    """What the bulk send would do now: every recipient, the totals, where it would stop."""

    request: BulkRequest
    budgeted: Budgeted
    people: dict[str, Person]
    template_name: str


def dry_run(
    deps: Deps, *, owner_id: str, request: BulkRequest, now: datetime, max_recipients: int
) -> DryRun:
    """The bulk send planned as it would run at ``now``; nothing is written.

    Raises ValidationError (no recipients, more than ``max_recipients``), NotFound
    (the template is not the owner's), SendingSuspended and BulkSendingOff
    (services.reputation.check_may_bulk_send, which evaluates the response-rate floor).
    """
    require_utc(now)
    check_recipients(request.recipients, max_recipients)
    check_may_bulk_send(deps, owner_id, now)  # the dry run shows a ban or bulk-off too
    gathered = gather(
        deps,
        owner_id=owner_id,
        template_id=request.template_id,
        recipients=request.recipients,
        now=now,
    )
    planned = _plan(owner_id, request, gathered)
    confirmed = Confirmed(request.max_credits, request.max_overage_minor)
    budgeted = apply_budget(planned, gathered.wallet, confirmed)
    assert gathered.template is not None
    return DryRun(request, budgeted, gathered.people, gathered.template.name)


def _plan(owner_id: str, request: BulkRequest, gathered: Gathered) -> list[Planned]:
    assert gathered.template is not None
    return plan_recipients(
        owner_id,
        request.recipients,
        gathered.facts,
        connections=request.connections,
        plan=gathered.plan,
        has_b=gathered.template.text.b is not None,
    )


def start_bulk_send(
    deps: Deps,
    *,
    owner_id: str,
    request: BulkRequest,
    now: datetime,
    idempotency_key: str | None,
    max_recipients: int,
) -> str:
    """Store a bulk send to be sent (services.bulk_runs sends it); its id.

    Needs ``idempotency_key`` and ``request.max_credits`` (ValidationError naming
    ``Idempotency-Key`` or ``max_credits``). The key is looked up first: a repeat
    answers the first bulk send's id, whatever changed since. Then raises as
    :func:`dry_run`. Recipients that cannot be written to are stored as not sent
    with their reason; the others as pending, with their channel and variant.
    """
    require_utc(now)
    if idempotency_key is None:
        raise ValidationError(
            "a bulk send that sends needs an Idempotency-Key header: retrying with it "
            "never sends twice",
            field="Idempotency-Key",
        )
    write = keyed(str, f"bulk:{owner_id}", idempotency_key, request.identity())
    found = stored_answer(deps, write)
    if found is not None:
        return found
    if request.max_credits is None:
        raise ValidationError(
            "max_credits is required to send: the total of credits you confirmed (the dry "
            "run's credits_to_spend)",
            field="max_credits",
        )
    check_recipients(request.recipients, max_recipients)
    check_may_bulk_send(deps, owner_id, now)
    gathered = gather(
        deps,
        owner_id=owner_id,
        template_id=request.template_id,
        recipients=request.recipients,
        now=now,
    )
    bulk, rows = _records(owner_id, request, _plan(owner_id, request, gathered), now)

    def effect(conn: Any) -> str:
        bulk_store.insert_bulk(conn, bulk, rows)
        return bulk.id

    return keyed_write(deps, write, now=now, effect=effect)


def _records(
    owner_id: str, request: BulkRequest, planned: list[Planned], now: datetime
) -> tuple[BulkRecord, list[RecipientRecord]]:
    assert request.max_credits is not None
    bulk = BulkRecord(
        id=new_id("blk"),
        owner_id=owner_id,
        template_id=request.template_id,
        connections=request.connections.value,
        status=Status.PENDING.value,
        recipients=len(planned),
        max_credits=request.max_credits,
        max_overage_minor=request.max_overage_minor,
        credits_spent=0,
        overage_minor=0,
        overage_currency=None,
        stop=None,
        created_at=now,
        updated_at=now,
        finished_at=None,
    )
    return bulk, [_recipient(bulk.id, p, now) for p in planned]


def _recipient(bulk_id: str, p: Planned, now: datetime) -> RecipientRecord:
    sendable = p.outcome == Outcome.SEND
    return RecipientRecord(
        bulk_id=bulk_id,
        position=p.position,
        member_id=p.member_id,
        status=Outcome.PENDING.value if sendable else Outcome.NOT_SENT.value,
        channel=None if p.channel is None else p.channel.value,
        variant=None if p.variant is None else p.variant.value,
        subject=None if p.letter is None or not sendable else p.letter.subject,
        body=None if p.letter is None or not sendable else p.letter.body,
        cost_credits=0,
        overage_minor=0,
        message_id=None,
        thread_id=None,
        reason=None if p.refusal is None else reason_json(p.refusal),
        updated_at=now,
    )


def reason_json(refusal: Refusal) -> dict[str, Any]:
    """A refusal as stored with its recipient (and shown by the API)."""
    stored: dict[str, Any] = {"code": refusal.code, "detail": refusal.detail}
    if refusal.missing:
        stored["missing"] = list(refusal.missing)
    if refusal.thread_id is not None:
        stored["thread_id"] = refusal.thread_id
        at = refusal.follow_up_at
        stored["follow_up_at"] = None if at is None else at.isoformat().replace("+00:00", "Z")
    return stored


# ---- what became of them -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    """How many of a bulk send's recipients are pending, sent, and not sent."""

    pending: int = 0
    sent: int = 0
    not_sent: int = 0

    @classmethod
    def of(cls, by_status: dict[str, int]) -> Counts:
        return cls(
            by_status.get(Outcome.PENDING, 0),
            by_status.get(Outcome.SENT, 0),
            by_status.get(Outcome.NOT_SENT, 0),
        )


@dataclass(frozen=True, slots=True)
class BulkView:
    """A bulk send as its owner sees it: the record, the counts, a page of recipients."""

    bulk: BulkRecord
    counts: Counts
    recipients: list[RecipientRecord] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return Status(self.bulk.status)


def get_bulk_send(
    deps: Deps, *, owner_id: str, bulk_id: str, after: int | None = None, limit: int = 50
) -> BulkView:
    """The owner's bulk send with its recipients after position ``after`` (a page of
    ``limit``). Raises NotFound, also for another member's (never revealing it exists)."""
    with deps.db.read() as conn:
        bulk = bulk_store.get_bulk(conn, bulk_id)
        if bulk is None or bulk.owner_id != owner_id:
            raise NotFound(f"you have no bulk send {bulk_id!r}")
        counts = bulk_store.status_counts(conn, [bulk_id]).get(bulk_id, {})
        page = bulk_store.recipients(conn, bulk_id, after=after, limit=limit)
    return BulkView(bulk, Counts.of(counts), page)


def list_bulk_sends(
    deps: Deps, *, owner_id: str, before: int | None = None, limit: int = 50
) -> list[tuple[int, BulkView]]:
    """(position, bulk send without its recipients) of the owner's, newest first."""
    with deps.db.read() as conn:
        found = bulk_store.list_bulks(conn, owner_id, before=before, limit=limit)
        counts = bulk_store.status_counts(conn, [b.id for _, b in found])
    return [(seq, BulkView(b, Counts.of(counts.get(b.id, {})))) for seq, b in found]


def ids_for_handles(deps: Deps, handles: Sequence[str]) -> tuple[list[str], list[str]]:
    """(member ids, in order, of the handles that name a member; the handles that do not).

    A handle may be written with its ``@`` and in any case (handles are lower case).
    """
    wanted = [h.strip().removeprefix("@").lower() for h in handles if h.strip()]
    with deps.db.read() as conn:
        found = facts_store.ids_by_handle(conn, sorted(set(wanted)))
    return [found[h] for h in wanted if h in found], [h for h in wanted if h not in found]
