"""Sending a stored bulk send: its pending recipients in list order, each its own atomic
charge (issue 10 §6; docs/rules.md "Bulk sends").

Each recipient's send goes through the normal send path (services.inmail
``deliver_inmail``; ``send_message`` for a connection) under its own key,
``bulk:{bulk id}:{recipient}`` in the sender's send scope. In the send's own transaction
the bulk send counts what it spent, only while the total stays within what the member
confirmed, and marks the recipient sent: so whatever runs it — the request's background
task, a resumed run after a crash, two processes at once — no recipient is charged twice
and the credits (and overage money) confirmed are never passed.

Each recipient gets the text rendered when the bulk send was confirmed. Reads are batched:
:func:`services.bulk_facts.gather` checks the rules again for up to :data:`BATCH`
recipients at once, just before they are sent; then each send is one write transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from inmail.domain.bulk import Connections, Outcome, Refusal, Status, Way, way_to
from inmail.domain.bulk_budget import Stop, over_total, stopped_by
from inmail.domain.errors import Conflict, CostChanged, DomainError, NotFound
from inmail.domain.messaging import Agreed, Channel, Route
from inmail.domain.plans import Plan
from inmail.domain.templates import Letter, Source, Variant
from inmail.services.bulk_facts import Gathered, gather
from inmail.services.bulk_sends import reason_json
from inmail.services.context import Deps
from inmail.services.inmail import Sent, Written, deliver_inmail, message_write, send_message
from inmail.store import bulk_facts as facts_store
from inmail.store import bulk_sends as bulk_store
from inmail.store.bulk_sends import BulkRecord, RecipientRecord
from inmail.store.fast_spend import Guard

BATCH = 50  # recipients whose facts are read at once
Clock = Callable[[], datetime]


class _Finished(Exception):
    """The bulk send was stopped or finished by another run: this send rolls back."""


def recipient_key(bulk_id: str, member_id: str) -> str:
    """The idempotency key of one recipient's send, in the sender's send scope."""
    return f"bulk:{bulk_id}:{member_id}"


def run_bulk_send(deps: Deps, *, bulk_id: str, clock: Clock) -> Status:
    """Send every pending recipient of the bulk send; the status it is left in.

    ``clock`` gives each send its moment (UTC). Safe to call again after a crash, or
    twice at once: sends already made are found by their keys and not made again.
    Raises NotFound for no such bulk send.
    """
    with deps.db.read() as conn:
        bulk = bulk_store.get_bulk(conn, bulk_id)
    if bulk is None:
        raise NotFound(f"there is no bulk send {bulk_id!r}")
    if Status(bulk.status).finished:
        return Status(bulk.status)
    with deps.db.write() as conn:
        bulk_store.mark_running(conn, bulk_id, clock())
    return _Run(deps, bulk, clock).run()


@dataclass(slots=True)
class _Run:
    deps: Deps
    bulk: BulkRecord
    clock: Clock
    spent: int = 0  # credits the bulk send spent, as this run knows
    overage: int = 0  # overage money it billed, in minor units

    def run(self) -> Status:
        while True:
            with self.deps.db.read() as conn:
                batch = bulk_store.recipients(
                    conn, self.bulk.id, limit=BATCH, status=Outcome.PENDING.value
                )
                fresh = bulk_store.get_bulk(conn, self.bulk.id)
            assert fresh is not None
            if Status(fresh.status).finished:
                return Status(fresh.status)
            if not batch:
                return self._finish()
            self.spent, self.overage = fresh.credits_spent, fresh.overage_minor
            stop = self._send_batch(batch)
            if stop is not None:
                return self._stop(stop)

    def _send_batch(self, batch: list[RecipientRecord]) -> Stop | None:
        gathered = gather(
            self.deps,
            owner_id=self.bulk.owner_id,
            template_id=self.bulk.template_id,
            recipients=[r.member_id for r in batch],
            now=self.clock(),
            render=False,
        )
        keys = [recipient_key(self.bulk.id, r.member_id) for r in batch]
        with self.deps.db.read() as conn:
            stored = facts_store.stored_keys(conn, self._scope, keys)
        for recipient, key in zip(batch, keys, strict=True):
            if key in stored:  # sent before a crash (or by another run): record it
                self._sent_before(recipient, stored[key].response)
                continue
            try:
                stop = self._send_one(recipient, gathered)
            except _Finished:
                return None  # the next round reads the status another run left
            if stop is not None:
                return stop
        return None

    @property
    def _scope(self) -> str:
        return f"send:{self.bulk.owner_id}"

    def _send_one(self, recipient: RecipientRecord, gathered: Gathered) -> Stop | None:
        facts = gathered.facts.get(recipient.member_id)
        if facts is None:
            return self._not_sent(recipient, Refusal("not-found", "this member is gone"))
        way = way_to(facts, _connections(self.bulk), gathered.plan)
        if isinstance(way, Refusal):
            return self._not_sent(recipient, way)
        variant = Variant(recipient.variant or Variant.A)
        letter = Letter(recipient.subject or "", recipient.body or "")  # as confirmed
        if way.channel == Channel.MESSAGE:
            return self._message(recipient, letter)
        return self._inmail(recipient, way, letter, variant, gathered.plan)

    def _message(self, recipient: RecipientRecord, letter: Letter) -> Stop | None:
        """A connection gets the template's body as a free message (no subject)."""
        try:
            sent = send_message(
                self.deps,
                sender_id=self.bulk.owner_id,
                to=recipient.member_id,
                body=letter.body,
                now=self.clock(),
                idempotency_key=recipient_key(self.bulk.id, recipient.member_id),
            )
        except DomainError as refused:
            return self._not_sent(recipient, Refusal.of(refused))
        self._settle(recipient, sent, Channel.MESSAGE.value)
        return None

    def _inmail(
        self, recipient: RecipientRecord, way: Way, letter: Letter, variant: Variant, plan: Plan
    ) -> Stop | None:
        if self.spent + way.cost > self.bulk.max_credits:
            return self._not_sent(
                recipient, over_total(self.spent, way.cost, self.bulk.max_credits)
            )
        to, now = recipient.member_id, self.clock()
        source = Source(template_id=self.bulk.template_id, variant=variant)
        write = message_write(
            self.deps, self.bulk.owner_id, recipient_key(self.bulk.id, to), source.request(to)
        )
        cap = self.bulk.max_overage_minor
        try:
            sent = deliver_inmail(
                self.deps,
                sender_id=self.bulk.owner_id,
                to=to,
                text=Written(letter.subject, letter.body, self.bulk.template_id, variant.value),
                route=Route(way.channel, way.cost, "a bulk send"),
                plan=plan,
                now=now,
                write=write,
                agreed=Agreed(None, None if cap is None else cap - self.overage),
                then_execute=self._counted(recipient, way.channel, now),
            )
        except CostChanged as refused:  # more overage money than confirmed: a stop
            return self._refused(recipient, Refusal.of(refused))
        except Conflict as refused:
            return self._not_counted(recipient, way.cost, refused)
        except DomainError as refused:
            return self._refused(recipient, Refusal.of(refused))
        self.spent += sent.cost_credits
        self.overage += 0 if sent.overage_charge is None else sent.overage_charge.amount_minor
        return None

    def _refused(self, recipient: RecipientRecord, refusal: Refusal) -> Stop | None:
        """A send refused: a refusal for money stops the bulk send, any other is this
        recipient's reason."""
        if refusal.is_money:
            return Stop(recipient.position, refusal)
        return self._not_sent(recipient, refusal)

    def _counted(
        self, recipient: RecipientRecord, channel: Channel, now: datetime
    ) -> Callable[[Sent], tuple[Guard, ...]]:
        """What the send's own transaction also does: count it into the bulk send within
        the confirmed caps, and mark the recipient sent. Either changing no row rolls the
        send back (Conflict): another run stopped the bulk send, passed the cap, or sent
        to this recipient first."""

        def statements(sent: Sent) -> tuple[Guard, ...]:
            overage = sent.overage_charge
            overage_minor = 0 if overage is None else overage.amount_minor
            count = bulk_store.count_spent(
                self.bulk.id,
                credits=sent.cost_credits,
                overage_minor=overage_minor,
                currency=None if overage is None else overage.currency,
                at=now,
            )
            mark = bulk_store.mark_sent(
                self.bulk.id,
                recipient.position,
                now,
                channel=channel.value,
                cost=sent.cost_credits,
                overage_minor=overage_minor,
                message_id=sent.id,
                thread_id=sent.thread_id,
            )
            return count, mark

        return statements

    def _not_counted(self, recipient: RecipientRecord, cost: int, refused: Conflict) -> Stop | None:
        """A send rolled back by a conflict: say why from what the other run left."""
        with self.deps.db.read() as conn:
            bulk = bulk_store.get_bulk(conn, self.bulk.id)
            current = bulk_store.get_recipient(conn, self.bulk.id, recipient.position)
        assert bulk is not None
        assert current is not None
        if Status(bulk.status).finished:
            raise _Finished(bulk.status)
        if current.status != Outcome.PENDING:
            return None  # another run settled them
        self.spent, self.overage = bulk.credits_spent, bulk.overage_minor
        if bulk.credits_spent + cost > bulk.max_credits:
            return self._not_sent(recipient, over_total(bulk.credits_spent, cost, bulk.max_credits))
        return self._refused(recipient, Refusal.of(refused))

    def _sent_before(self, recipient: RecipientRecord, response: str) -> None:
        """A send whose key is stored: its answer is this recipient's (the key is ours).

        Only a free message is found so, sent before a crash: an InMail's key is stored
        in the transaction that marks its recipient sent.
        """
        key = recipient_key(self.bulk.id, recipient.member_id)
        sent = message_write(self.deps, self.bulk.owner_id, key, {}).decode(response)
        channel = Channel.MESSAGE if sent.kind == "message" else Channel.INMAIL
        if channel == Channel.INMAIL and sent.cost_credits == 0:
            channel = Channel.OPEN_PROFILE
        self._settle(recipient, sent, channel.value)

    def _settle(self, recipient: RecipientRecord, sent: Sent, channel: str) -> None:
        now = self.clock()
        with self.deps.db.write() as conn:
            bulk_store.settle(
                conn, self.bulk.id, recipient.position, now, channel=channel, **_sent(sent)
            )

    def _not_sent(self, recipient: RecipientRecord, refusal: Refusal) -> Stop | None:
        """This recipient is not sent, for ``refusal``; the bulk send goes on (None)."""
        with self.deps.db.write() as conn:
            bulk_store.settle(
                conn,
                self.bulk.id,
                recipient.position,
                self.clock(),
                status=Outcome.NOT_SENT.value,
                reason=reason_json(refusal),
            )
        return None

    def _stop(self, stop: Stop) -> Status:
        now = self.clock()
        with self.deps.db.write() as conn:
            bulk_store.settle(
                conn,
                self.bulk.id,
                stop.position,
                now,
                status=Outcome.NOT_SENT.value,
                reason=reason_json(stop.refusal),
            )
            stopped_at = {"position": stop.position, **reason_json(stop.refusal)}
            bulk_store.stop(conn, self.bulk.id, stopped_at, reason_json(stopped_by(stop)), now)
        return self._status()

    def _finish(self) -> Status:
        with self.deps.db.write() as conn:
            bulk_store.finish(conn, self.bulk.id, self.clock())
        return self._status()

    def _status(self) -> Status:
        with self.deps.db.read() as conn:
            bulk = bulk_store.get_bulk(conn, self.bulk.id)
        assert bulk is not None
        return Status(bulk.status)


def _sent(sent: Sent) -> dict[str, object]:
    overage = sent.overage_charge
    return {
        "status": Outcome.SENT.value,
        "cost_credits": sent.cost_credits,
        "overage_minor": 0 if overage is None else overage.amount_minor,
        "message_id": sent.id,
        "thread_id": sent.thread_id,
        "reason": None,
    }


def _connections(bulk: BulkRecord) -> Connections:
    return Connections(bulk.connections)
