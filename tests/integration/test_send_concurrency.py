"""Sending InMail under concurrency, and the thread rules under random sequences (SPEC §4, §5).

The concurrent tests run on a real SQLite file and on a real PostgreSQL (the ``deps``
fixture is parametrized over both). Threads share one ``Deps`` (the pool gives each its
own connection) and start together at a barrier so the writes really overlap.

The state machine at the end sends (refused while the pair's last InMail awaits a
response), replies, declines, reads, follows up and moves the clock at random (on SQLite,
and more briefly on PostgreSQL); after every step the audit
must be clean, every charged InMail must have exactly one spend, and credits come back
only when the sender's plan opted in (``credit_back_days``) and the answer came in time,
once per InMail.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from threading import Barrier
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import ColumnElement, Table, func, select, text

from inmail.domain.errors import (
    Conflict,
    DomainError,
    FollowUpLimitReached,
    FollowUpTooEarly,
    Forbidden,
    InmailAlreadyAwaitingResponse,
    InmailNotOnPlan,
    InsufficientCredits,
    NotFound,
    ThreadClosed,
)
from inmail.services.audit import run_audit
from inmail.services.catalog import seed_catalog, update_plan
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import update_overage_settings
from inmail.services.inbox import get_thread
from inmail.services.inmail import Sent, decline, mark_read, post_in_thread, send_inmail
from inmail.store.db import Database, make_engine
from inmail.store.tables import ledger_entries, messages, metadata, notifications, threads
from tests.conftest import T0, WITH_PGBOUNCER, database_url, through_pgbouncer
from tests.helpers import balance, days, new_member
from tests.reference_model import AwaitingInmails, Refused

T = TypeVar("T")

NOW = T0 + days(1)
LATER = NOW + days(8)  # past the 7-day wait for a follow-up, before the Feb 28 renewal
CREDITS = 25  # what premium_business grants at creation
SENDING_THREADS = 20
SENDS_PER_THREAD = 2  # 40 sends for 25 credits
RECIPIENTS = SENDING_THREADS * SENDS_PER_THREAD  # one each: a second InMail would wait (§4)
REPLAYS = 16
FOLLOW_UPS = 8
RACE_ROUNDS = 10
RACES_PER_ROUND = 2  # each round races a reply and a follow-up in this many fresh threads
RACE_PLAN = "recruiter_corporate"  # 75 credits: room for every send and follow-up
RACE_CREDITS = 75
WAIT_SECONDS = 60  # a hang fails the test instead of blocking the run


# ---- helpers


@pytest.fixture(params=WITH_PGBOUNCER)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Also through pgbouncer in transaction pooling mode (docs/rules.md)."""
    return database_url(request, tmp_path)


def together(n: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``work(0)`` … ``work(n - 1)`` on n threads released at once; each result or error."""
    barrier = Barrier(n, timeout=WAIT_SECONDS)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    results: list[T | BaseException] = []
    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(run, i) for i in range(n)]:
            error = future.exception(timeout=WAIT_SECONDS)
            results.append(future.result() if error is None else error)
    return results


def sender_without_overage(deps: Deps, plan: str = "premium_business") -> str:
    member = new_member(deps, plan, T0)
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)
    return member


def spend_references(deps: Deps, member_id: str) -> Counter[str]:
    """How many spend ledger lines each reference of the member has."""
    query = select(ledger_entries.c.reference).where(
        ledger_entries.c.member_id == member_id, ledger_entries.c.kind == "spend"
    )
    with deps.db.read() as conn:
        return Counter(conn.execute(query).scalars())


def refund_lines(deps: Deps) -> list[tuple[str, str, int]]:
    """(member, reference, amount) of every refund ledger line."""
    query = select(
        ledger_entries.c.member_id, ledger_entries.c.reference, ledger_entries.c.amount
    ).where(ledger_entries.c.kind == "refund")
    with deps.db.read() as conn:
        return [(m, r, a) for m, r, a in conn.execute(query)]


def charged_messages(deps: Deps, sender: str) -> dict[str, str]:
    """Message id -> kind of every message the sender paid credits for."""
    query = select(messages.c.id, messages.c.kind).where(
        messages.c.sender_id == sender, messages.c.cost_credits > 0
    )
    with deps.db.read() as conn:
        return {row.id: row.kind for row in conn.execute(query)}


def message_ids(deps: Deps, kind: str) -> set[str]:
    with deps.db.read() as conn:
        return set(conn.execute(select(messages.c.id).where(messages.c.kind == kind)).scalars())


def thread_ids(deps: Deps) -> set[str]:
    with deps.db.read() as conn:
        return set(conn.execute(select(threads.c.id)).scalars())


def count_rows(deps: Deps, table: Table, *where: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(table).where(*where)
    with deps.db.read() as conn:
        return int(conn.execute(query).scalar_one())


def one_spend_per_charged_message(deps: Deps, sender: str) -> None:
    charged = charged_messages(deps, sender)
    assert spend_references(deps, sender) == Counter(f"inmail:{m}" for m in charged)


# ---- 1. many sends, too few credits


def test_forty_concurrent_sends_for_twenty_five_credits_send_twenty_five_and_charge_each_once(
    deps: Deps,
) -> None:
    sender = sender_without_overage(deps)
    assert balance(deps, sender, T0) == CREDITS
    recipients = [new_member(deps, "basic", T0) for _ in range(RECIPIENTS)]

    def send_some(worker: int) -> list[Sent | str]:
        outcomes: list[Sent | str] = []
        for attempt in range(SENDS_PER_THREAD):
            n = worker * SENDS_PER_THREAD + attempt
            try:
                sent = send_inmail(
                    deps,
                    sender_id=sender,
                    to=recipients[n % RECIPIENTS],
                    subject=f"Opportunity {n}",
                    body=f"Hello, this is InMail number {n}.",
                    now=NOW,
                )
            except InsufficientCredits:
                outcomes.append("refused")
            except Exception as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
            else:
                outcomes.append(sent)
        return outcomes

    results = together(SENDING_THREADS, send_some)

    assert not [r for r in results if isinstance(r, BaseException)], results
    outcomes = [o for r in results if not isinstance(r, BaseException) for o in r]
    sent = [o for o in outcomes if isinstance(o, Sent)]
    refused = [o for o in outcomes if not isinstance(o, Sent)]
    total = SENDING_THREADS * SENDS_PER_THREAD
    assert Counter(refused) == {"refused": total - CREDITS}, refused
    assert len(sent) == CREDITS
    assert {(s.kind, s.cost_credits, s.overage_charge) for s in sent} == {("inmail", 1, None)}
    assert sorted(s.balance_after or 0 for s in sent) == list(range(CREDITS))  # one credit each
    assert balance(deps, sender, NOW) == 0
    assert run_audit(deps) == []

    inmails = message_ids(deps, "inmail")
    assert inmails == {s.id for s in sent}
    assert spend_references(deps, sender) == Counter(f"inmail:{m}" for m in inmails)
    # A refused send left nothing behind: no message, no thread, no notification.
    assert count_rows(deps, messages) == count_rows(deps, threads) == CREDITS
    assert {s.thread_id for s in sent} == thread_ids(deps)
    assert count_rows(deps, notifications, notifications.c.kind == "new_inmail") == CREDITS


# ---- 2. one Idempotency-Key, replayed at once


def test_concurrent_replays_of_one_send_key_send_one_inmail_and_return_the_first_result(
    deps: Deps,
) -> None:
    sender = sender_without_overage(deps)
    recipient = new_member(deps, "basic", T0)

    def replay(_: int) -> Sent:
        return send_inmail(
            deps,
            sender_id=sender,
            to=recipient,
            subject="Just once",
            body="Sent once, however often it is retried.",
            now=NOW,
            idempotency_key="send-once",
        )

    results = together(REPLAYS, replay)

    assert Counter(type(r).__name__ for r in results) == {"Sent": REPLAYS}, results
    assert len(set(results)) == 1
    first = results[0]
    assert isinstance(first, Sent)
    assert (first.kind, first.cost_credits, first.balance_after) == ("inmail", 1, CREDITS - 1)
    assert message_ids(deps, "inmail") == {first.id}
    assert count_rows(deps, threads) == 1
    assert get_thread(deps, member_id=sender, thread_id=first.thread_id).messages[0].id == first.id
    assert spend_references(deps, sender) == Counter([f"inmail:{first.id}"])
    assert balance(deps, sender, NOW) == CREDITS - 1
    assert run_audit(deps) == []


# ---- 3. several follow-ups in one thread at once


def test_concurrent_follow_ups_in_one_thread_charge_exactly_one(deps: Deps) -> None:
    sender = sender_without_overage(deps)
    recipient = new_member(deps, "basic", T0)
    first = send_inmail(
        deps, sender_id=sender, to=recipient, subject="Hello", body="First try.", now=NOW
    )

    def follow_up(i: int) -> Sent:
        return post_in_thread(
            deps, member_id=sender, thread_id=first.thread_id, body=f"Following up ({i})", now=LATER
        )

    results = together(FOLLOW_UPS, follow_up)

    sent = [r for r in results if isinstance(r, Sent)]
    refused = Counter(type(r).__name__ for r in results if not isinstance(r, Sent))
    print(f"concurrent follow-ups: {len(sent)} charged, refused with {dict(refused)}")
    assert len(sent) == 1, results
    assert (sent[0].kind, sent[0].cost_credits) == ("followup", 1)
    assert set(refused) <= {FollowUpLimitReached.__name__, Conflict.__name__}, results
    assert sum(refused.values()) == FOLLOW_UPS - 1

    view = get_thread(deps, member_id=sender, thread_id=first.thread_id)
    assert view.thread.followups_sent == 1
    assert view.thread.status == "awaiting_response"
    assert view.thread.last_inmail_at == LATER
    assert [(m.id, m.kind) for m in view.messages] == [
        (first.id, "inmail"),
        (sent[0].id, "followup"),
    ]
    assert charged_messages(deps, sender) == {first.id: "inmail", sent[0].id: "followup"}
    one_spend_per_charged_message(deps, sender)
    assert balance(deps, sender, LATER) == CREDITS - 2
    assert run_audit(deps) == []


# ---- 4. a reply racing a follow-up


@pytest.mark.parametrize("credit_back_days", [0, 90], ids=["no-credit-back", "credit-back"])
def test_a_reply_racing_a_follow_up_answers_the_thread_and_charges_at_most_one_follow_up(
    deps: Deps, credit_back_days: int
) -> None:
    if credit_back_days:
        update_plan(deps, code=RACE_PLAN, changes={"credit_back_days": credit_back_days}, now=T0)
    sender = sender_without_overage(deps, RACE_PLAN)
    recipients = [new_member(deps, "basic", T0) for _ in range(RACES_PER_ROUND)]
    follow_up_outcomes: Counter[str] = Counter()
    thread_ids: list[str] = []

    for round_number in range(RACE_ROUNDS):
        now = LATER + timedelta(minutes=round_number)
        firsts = [
            send_inmail(
                deps,
                sender_id=sender,
                to=r,
                subject=f"Round {round_number}",
                body="Are you open to a chat?",
                now=now - days(8),
            )
            for r in recipients
        ]
        thread_ids += [f.thread_id for f in firsts]

        def act(i: int, firsts: list[Sent] = firsts, now: datetime = now) -> Sent:
            thread, replying = firsts[i // 2].thread_id, i % 2 == 1
            member = recipients[i // 2] if replying else sender
            body = "Yes, happy to talk." if replying else "Just following up."
            return post_in_thread(deps, member_id=member, thread_id=thread, body=body, now=now)

        results = together(2 * RACES_PER_ROUND, act)

        for i, result in enumerate(results):
            if i % 2 == 1:  # the reply always lands: only a reply changes the thread's status
                assert isinstance(result, Sent), result
                assert (result.kind, result.cost_credits) == ("reply", 0)
            elif isinstance(result, Sent):  # a charged follow-up, or a free message after the reply
                assert (result.kind, result.cost_credits) in {("followup", 1), ("message", 0)}
                follow_up_outcomes[result.kind] += 1
            else:
                assert isinstance(result, Conflict), repr(result)  # no deadlock, no lock error
                follow_up_outcomes[type(result).__name__] += 1

    print(f"follow-ups racing replies: {dict(follow_up_outcomes)}")
    charged = charged_messages(deps, sender)
    for thread_id in thread_ids:
        view = get_thread(deps, member_id=sender, thread_id=thread_id)
        assert view.thread.status == "answered"
        kinds = Counter(m.kind for m in view.messages)
        assert kinds["followup"] == view.thread.followups_sent <= 1
        assert kinds["inmail"] == kinds["reply"] == 1
    assert Counter(charged.values()) == Counter(
        inmail=RACE_ROUNDS * RACES_PER_ROUND, followup=follow_up_outcomes["followup"]
    )
    one_spend_per_charged_message(deps, sender)
    refunds = refund_lines(deps)
    if credit_back_days:  # every charged InMail was answered within 8 days: each comes back once
        assert sorted(ref for _, ref, _ in refunds) == sorted(f"inmail:{m}" for m in charged)
        assert {(member, amount) for member, _, amount in refunds} == {(sender, 1)}
        assert balance(deps, sender, LATER + days(1)) == RACE_CREDITS
    else:
        assert refunds == []
        assert balance(deps, sender, LATER + days(1)) == RACE_CREDITS - len(charged)
    assert run_audit(deps) == []


# ---- the terms an InMail is sent under


def test_an_inmail_sent_just_after_a_renewal_takes_the_credit_back_terms_of_the_new_cycle(
    deps: Deps,
) -> None:
    """Members keep the terms of the cycle they are in (SPEC §1): here, the new cycle's."""
    sender = new_member(deps, "premium_business", T0)
    recipient = new_member(deps, "basic", T0)
    update_plan(deps, code="premium_business", changes={"credit_back_days": 90}, now=T0 + days(1))
    new_cycle = T0 + days(29)  # Mar 1: the Feb 28 renewal is due, and nothing has applied it yet

    sent = send_inmail(
        deps, sender_id=sender, to=recipient, subject="Hello", body="New terms?", now=new_cycle
    )
    post_in_thread(
        deps, member_id=recipient, thread_id=sent.thread_id, body="Yes!", now=new_cycle + days(1)
    )

    assert refund_lines(deps) == [(sender, f"inmail:{sent.id}", 1)]
    assert balance(deps, sender, new_cycle + days(1)) == 50  # 25 rolled over + 25, none spent
    assert run_audit(deps) == []


# ---- 5. random sequences: the audit stays clean and refunds follow the plan

MEMBER_PLANS = (
    "premium_business",
    "premium_business",
    "sales_navigator_professional",
    "basic",
    "basic",
)
CREDIT_BACK_PLAN = "premium_business"
FOLLOW_UP_WAIT = timedelta(days=7)  # the default followup_after_days
MAX_FOLLOW_UPS = 1
CLOCK_STEPS = st.one_of(
    st.integers(1, 47).map(lambda n: timedelta(hours=n)),
    st.integers(1, 40).map(lambda n: timedelta(days=n)),
    st.sampled_from([7, 90, 91]).map(lambda n: timedelta(days=n)),  # the rules' edges
)
WAITS = st.one_of(st.just(timedelta(0)), CLOCK_STEPS)  # each action may first let time pass
WHO = st.integers(0, len(MEMBER_PLANS) - 1)
OTHER = st.integers(1, len(MEMBER_PLANS) - 1)


def refused_by(model_action: Callable[[], object]) -> str | None:
    """The code the reference model refuses ``model_action`` with, or None."""
    try:
        model_action()
    except Refused as refused:
        return refused.code
    return None


@dataclass
class ThreadModel:
    initiator: str
    recipient: str
    last_inmail_at: datetime
    charged_at: list[datetime]  # when each charged InMail of the thread (first, follow-ups) went
    status: str = "awaiting_response"
    followups: int = 0
    opened_at: datetime | None = None


class SendingMachine(RuleBasedStateMachine):
    threads = Bundle("threads")

    def __init__(self, fresh: Callable[[], Database], credit_back_days: int) -> None:
        super().__init__()
        self.deps = Deps(fresh(), PlanVersionCache())
        self.credit_back_days = credit_back_days
        self.now = T0
        self.members: list[str] = []
        self.plan_of: dict[str, str] = {}
        self.model: dict[str, ThreadModel] = {}
        self.awaiting = AwaitingInmails()
        self.expected_refunds = 0

    def teardown(self) -> None:
        self.deps.db.dispose()

    @initialize(target=threads)
    def members_on_various_plans_and_a_first_inmail(self) -> object:
        if self.credit_back_days:  # before anyone subscribes, so every cycle has the new terms
            changes = {"credit_back_days": self.credit_back_days}
            update_plan(self.deps, code=CREDIT_BACK_PLAN, changes=changes, now=self.now)
        for plan in MEMBER_PLANS:
            member = new_member(self.deps, plan, self.now)
            self.members.append(member)
            self.plan_of[member] = plan
        return self.send_from(0, MEMBER_PLANS.index("basic"))

    @rule(step=CLOCK_STEPS)
    def time_passes(self, step: timedelta) -> None:
        self.now += step

    @rule(target=threads, sender=WHO, offset=OTHER, wait=WAITS)
    def send(self, sender: int, offset: int, wait: timedelta) -> object:
        self.now += wait
        return self.send_from(sender, (sender + offset) % len(self.members))

    def send_from(self, sender: int, recipient: int) -> object:
        sender_id, recipient_id = self.members[sender], self.members[recipient]

        def send() -> Sent:
            return send_inmail(
                self.deps,
                sender_id=sender_id,
                to=recipient_id,
                subject="A question",
                body="Could we talk?",
                now=self.now,
            )

        if self.plan_of[sender_id] == "basic":
            with pytest.raises(InmailNotOnPlan):
                send()
            return multiple()
        refusal = refused_by(lambda: self.awaiting.check_send(sender_id, recipient_id))
        if refusal is not None:  # SPEC §4: write again by a follow-up, not a second thread
            with pytest.raises(InmailAlreadyAwaitingResponse) as caught:
                send()
            assert caught.value.code == refusal
            thread = self.awaiting.threads[(sender_id, recipient_id)]
            m = self.model[thread]
            assert caught.value.thread_id == thread
            assert caught.value.follow_up_at == (
                None if m.followups >= MAX_FOLLOW_UPS else m.last_inmail_at + FOLLOW_UP_WAIT
            )
            return multiple()
        sent = send()  # every paid plan has automatic overage on: a send never runs dry
        assert (sent.kind, sent.cost_credits) == ("inmail", 1)
        self.model[sent.thread_id] = ThreadModel(sender_id, recipient_id, self.now, [self.now])
        self.awaiting.sent(sender_id, recipient_id, sent.thread_id)
        return sent.thread_id

    @rule(thread=threads, wait=WAITS, declines=st.booleans())
    def recipient_answers(self, thread: str, wait: timedelta, declines: bool) -> None:
        """A reply or a decline (one rule, so that follow-ups get their turn as often)."""
        self.now += wait
        m = self.model[thread]
        if declines:
            self.decline(thread, m)
            return

        def write() -> Sent:
            return post_in_thread(
                self.deps, member_id=m.recipient, thread_id=thread, body="Thanks!", now=self.now
            )

        if m.status == "declined":
            with pytest.raises(ThreadClosed):
                write()
            return
        sent = write()
        if m.status == "awaiting_response":
            assert (sent.kind, sent.cost_credits) == ("reply", 0)
            self.responded(m, "answered")
        else:
            assert (sent.kind, sent.cost_credits) == ("message", 0)

    def decline(self, thread: str, m: ThreadModel) -> None:
        if m.status != "awaiting_response":
            with pytest.raises(ThreadClosed):
                decline(self.deps, member_id=m.recipient, thread_id=thread, now=self.now)
            return
        decline(self.deps, member_id=m.recipient, thread_id=thread, now=self.now)
        self.responded(m, "declined")

    @rule(thread=threads, wait=WAITS)
    def recipient_reads(self, thread: str, wait: timedelta) -> None:
        self.now += wait
        m = self.model[thread]
        opened = mark_read(self.deps, member_id=m.recipient, thread_id=thread, now=self.now)
        m.opened_at = m.opened_at or self.now
        assert opened == m.opened_at

    @rule(thread=threads, wait=WAITS)
    def sender_follows_up(self, thread: str, wait: timedelta) -> None:
        self.now += wait
        m = self.model[thread]
        expected = self.follow_up_outcome(m)

        def write() -> Sent:
            return post_in_thread(
                self.deps, member_id=m.initiator, thread_id=thread, body="Any news?", now=self.now
            )

        if not isinstance(expected, str):
            with pytest.raises(DomainError) as caught:
                write()
            assert type(caught.value) is expected, caught.value
            return
        sent = write()
        if expected == "followup":
            assert (sent.kind, sent.cost_credits) == ("followup", 1)
            m.followups += 1
            m.last_inmail_at = self.now
            m.charged_at.append(self.now)
        else:
            assert (sent.kind, sent.cost_credits) == ("message", 0)

    @rule(thread=threads, who=WHO, action=st.sampled_from(["write", "decline", "read"]))
    def someone_else_touches_the_thread(self, thread: str, who: int, action: str) -> None:
        """Only the two members of a thread see it, and only its recipient declines or reads."""
        m = self.model[thread]
        member = self.members[who]
        if member == m.recipient:
            return
        outsider = member != m.initiator
        actions: dict[str, Callable[[], object]] = {
            "write": lambda: post_in_thread(
                self.deps, member_id=member, thread_id=thread, body="Hi", now=self.now
            ),
            "decline": lambda: decline(self.deps, member_id=member, thread_id=thread, now=self.now),
            "read": lambda: mark_read(self.deps, member_id=member, thread_id=thread, now=self.now),
        }
        if not outsider and action == "write":
            return  # the sender writing is sender_follows_up
        with pytest.raises(DomainError) as caught:
            actions[action]()
        assert isinstance(caught.value, NotFound if outsider else Forbidden), caught.value

    def follow_up_outcome(self, m: ThreadModel) -> str | type[DomainError]:
        if m.status == "declined":
            return ThreadClosed
        if m.status == "answered":
            return "message"
        if m.followups >= MAX_FOLLOW_UPS:
            return FollowUpLimitReached
        if self.now < m.last_inmail_at + FOLLOW_UP_WAIT:
            return FollowUpTooEarly
        return "followup"

    def responded(self, m: ThreadModel, status: str) -> None:
        m.status = status
        self.awaiting.responded(m.initiator, m.recipient)
        if self.credit_back_days and self.plan_of[m.initiator] == CREDIT_BACK_PLAN:
            window = timedelta(days=self.credit_back_days)
            self.expected_refunds += sum(self.now - at <= window for at in m.charged_at)

    @invariant()
    def the_books_balance_and_credits_come_back_only_as_the_plan_says(self) -> None:
        if not self.members:
            return
        assert run_audit(self.deps) == []
        with self.deps.db.read() as conn:
            charged = list(
                conn.execute(
                    select(messages.c.id, messages.c.sender_id).where(messages.c.cost_credits > 0)
                )
            )
            spent = Counter(
                conn.execute(
                    select(ledger_entries.c.reference).where(ledger_entries.c.kind == "spend")
                ).scalars()
            )
        assert spent == Counter(f"inmail:{message_id}" for message_id, _ in charged)
        assert len(charged) == sum(len(m.charged_at) for m in self.model.values())

        refunds = refund_lines(self.deps)
        assert all(amount == 1 for _, _, amount in refunds), refunds
        assert all(n == 1 for n in Counter(ref for _, ref, _ in refunds).values()), refunds
        if not self.credit_back_days:
            assert refunds == []
        assert {self.plan_of[member] for member, _, _ in refunds} <= {CREDIT_BACK_PLAN}
        assert len(refunds) == self.expected_refunds


def _fresh_sqlite(template: Path, folder: Path) -> Callable[[], Database]:
    paths = (folder / f"example{n}.db" for n in itertools.count())

    def fresh() -> Database:
        path = next(paths)
        shutil.copy(template, path)
        return Database(make_engine(f"sqlite:///{path}"))

    return fresh


def _fresh_postgres(url: str) -> Callable[[], Database]:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)

    def fresh() -> Database:
        db = Database(make_engine(url, pool_size=2))
        with db.write() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        seed_catalog(Deps(db, PlanVersionCache()), now=T0)
        return db

    return fresh


@dataclass(frozen=True)
class Backend:
    """Hands each Hypothesis example an empty, migrated, seeded database."""

    fresh: Callable[[], Database]
    max_examples: int


@pytest.fixture(params=WITH_PGBOUNCER)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend(_fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path), 25)
    url = request.getfixturevalue("postgres_url")
    if request.param == "pgbouncer":
        return Backend(_fresh_postgres(through_pgbouncer(request, url)), 5)
    return Backend(_fresh_postgres(url), 10)


@pytest.mark.parametrize("credit_back_days", [0, 90], ids=["default-catalog", "credit-back-90"])
def test_random_conversations_keep_the_books_clean_and_refund_only_answers_in_time(
    backend: Backend, credit_back_days: int
) -> None:
    class Machine(SendingMachine):
        """This backend's and catalog's machine: hypothesis builds it with no arguments."""

        def __init__(self) -> None:
            super().__init__(backend.fresh, credit_back_days)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=backend.max_examples,
            stateful_step_count=25,
            deadline=None,
            database=None,  # .hypothesis/ is not ignored by git; failures print their steps
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
