"""Sending InMail and what follows it: replies, declines, follow-ups, credit-backs (SPEC §4, §5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, update
from sqlalchemy.exc import IntegrityError

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    CannotCancelSentInmail,
    Conflict,
    DomainError,
    Forbidden,
    NotAConnection,
    NotFound,
    RecipientBlockedByYou,
    ThreadClosed,
)
from inmail.domain.events import Event, inmail_responded, inmail_sent
from inmail.domain.inbox import DeclineReason
from inmail.domain.messaging import (
    ANYTHING,
    Agreed,
    Channel,
    Route,
    ThreadState,
    ThreadStatus,
    check_agreed_cost,
    check_followup,
    check_nothing_awaiting,
    check_text,
    credit_back_applies,
    inmail_route,
    new_inmail_route,
)
from inmail.domain.money import Money
from inmail.domain.plans import Plan
from inmail.domain.sequences import (
    CANCEL_TEXT,
    CancelReason,
    FollowUpRequest,
    ScheduleStatus,
    check_schedule,
)
from inmail.domain.sequences import due_at as follow_up_due_at
from inmail.domain.sequences import sent_text as scheduled_sent_text
from inmail.domain.templates import Source, Variant, source_of
from inmail.observe.metrics import record_send
from inmail.services.context import Deps, current_account
from inmail.services.credits import (
    SpendResult,
    credit_back,
    decode_spend,
    encode_spend,
    spend_credits,
)
from inmail.services.idempotency import Keyed, check_key, first_answer_or, keyed_write, replay
from inmail.services.reach import gather_reach, reach_between, recipient_as_of
from inmail.services.reputation import check_may_send
from inmail.services.seats import sending_account
from inmail.services.templates import render_for
from inmail.store import accounts as account_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store import outbox
from inmail.store import sequences as schedule_store
from inmail.store import spends as spend_store
from inmail.store.fast_spend import Abandon, Decided, FastSpendRequest, Guard, Replay
from inmail.store.idempotency import StoredResponse
from inmail.store.messaging import (
    MessageRecord,
    ThreadRecord,
    message_row,
    notification_event,
    notification_row,
)
from inmail.store.send_facts import SendFacts, send_facts
from inmail.store.sequences import ScheduledRecord
from inmail.store.tables import messages, notifications, scheduled_followups, threads

REPLY = "reply"
"""The metrics' channel of a recipient's reply to an InMail (free, in the InMail's thread)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """A message as its sender sees it right after sending."""

    id: str
    thread_id: str
    kind: str
    cost_credits: int
    overage_charge: Money | None
    balance_after: int | None


def send_inmail(
    deps: Deps,
    *,
    sender_id: str,
    to: str,
    subject: str | None = None,
    body: str | None = None,
    now: datetime,
    idempotency_key: str | None = None,
    agreed: Agreed = ANYTHING,
    template_id: str | None = None,
    variant: Variant | None = None,
    follow_up: FollowUpRequest | None = None,
) -> Sent:
    """A new InMail thread; the credit is spent in the same transaction as the message.

    A retry with the same ``idempotency_key`` answers the first send, whatever
    changed since (the recipient turned InMail off, the two connected).
    ``agreed`` is what the member was shown (credits, overage): a send that
    would now cost more is refused with CostChanged, charging nothing.
    With ``template_id`` instead of subject and body, the sender's template
    (``variant``, A by default) is rendered for the recipient
    (services.templates.render_for raises what it refuses) and the message keeps
    the template and variant. Giving both, or neither, is a ValidationError.
    While an InMail from the sender to ``to`` awaits a response, a new one is
    refused with InmailAlreadyAwaitingResponse, charging nothing (SPEC §4).
    ``follow_up`` schedules one follow-up (issue 10 §7), stored with the send or
    not at all; a schedule the sender's plan does not allow is a ValidationError
    (:func:`plan_follow_up`), before anything is written.
    """
    require_utc(now)
    source = source_of(subject, body, template_id, variant)
    request = source.request(to)
    if follow_up is not None:  # only then: the fingerprints of plain sends stay as they were
        request["follow_up"] = asdict(follow_up)
    write = message_write(deps, sender_id, idempotency_key, request)
    if follow_up is None and source.template_id is None and sender_id != to:
        sent = _send_at_once(deps, sender_id, (to, source), now, write, agreed)
        if sent is not None:
            return sent
    letter = (to, source)
    return first_answer_or(
        deps, write, lambda: _send_inmail(deps, sender_id, letter, now, write, agreed, follow_up)
    )


def _send_at_once(
    deps: Deps,
    sender_id: str,
    letter: tuple[str, Source],
    now: datetime,
    write: Keyed[Sent],
    agreed: Agreed,
) -> Sent | None:
    """The common send in one write transaction (store.fast_spend): the key's stored answer,
    the sender's lock and plan, the recipient's facts (store.send_facts), the charge and the
    rows, decided under the lock. None: a case for the general path (:func:`_send_inmail`):
    a refusal (it words it), a renewal due on either side, an overage, an Open Profile, a
    plan without InMail, a race lost to the one-awaiting index; nothing was written then.

    Where more goes (docs/rules.md, "A send in one transaction"): a read that guards the
    send is one more expression in the facts, checked in ``decide``; who pays is the
    request's ``member_id`` (the account locked and charged), the sender stays in the facts.
    """
    to, source = letter
    assert source.subject is not None
    assert source.body is not None
    try:  # the general path raises these, after the key's lookup (services.idempotency)
        check_text(source.subject, source.body)
        if write.key is not None:
            check_key(write.key)
    except DomainError:
        return None
    text = Written(source.subject, source.body)
    spend_id = new_id("sp")
    message_id = new_id("msg")
    decided: list[tuple[MessageRecord, Route]] = []

    def decide(plan: Plan, cost: int, values: tuple[Any, ...]) -> Decided:
        facts = SendFacts.of(values)
        if facts.recipient_plan is None or facts.recipient_due or facts.awaiting:
            raise Abandon
        if facts.suspended:
            raise Abandon  # the general path refuses it with SendingSuspended
        recipient_plan = deps.plans.cached(*facts.recipient_plan)
        if recipient_plan is None:
            raise Abandon
        try:
            route = new_inmail_route(facts.reach(plan, recipient_plan))
            check_agreed_cost(route, agreed)
        except DomainError:
            raise Abandon from None
        if route.cost != cost or cost <= 0:
            raise Abandon  # free (an Open Profile): no spend; the general path sends it
        thread_id = new_id("th")
        message = _inmail_message(
            thread_id, sender_id, "inmail", text.subject, text.body, route, plan, now, message_id
        )
        rows = _new_thread_rows(message, to, text, now)
        decided.append((message, route))
        told = tuple(notification_event(v) for t, v in rows if t is notifications)
        return Decided(rows, (*told, _sent_event(message, to, route.cost)))

    def encode(balance_after: int) -> str:
        message, route = decided[-1]
        assert message.spend_reference is not None
        spent = SpendResult(spend_id, message.spend_reference, route.cost, balance_after, None)
        return encode_spend(spent)

    key = None if write.key is None else (write.scope, write.key, write.digest)
    order = FastSpendRequest(
        sender_id,
        None,  # the sender's plan's cost, read under the lock
        f"inmail:{message_id}",
        spend_id,
        now,
        key,
        facts=send_facts(sender_id, to, now),
        decide=decide,
    )
    outcome = deps.db.fast_spend.spend(order, deps.plans.cached, encode)
    if isinstance(outcome, Replay):
        return replay(
            StoredResponse(outcome.fingerprint, outcome.response), write.digest, write.decode
        )
    if outcome is None:
        return None
    message, route = decided[-1]
    record_send(route.channel.value, route.cost)
    return _sent(message, route.cost, None, outcome)


def _send_inmail(
    deps: Deps,
    sender_id: str,
    letter: tuple[str, Source],
    now: datetime,
    write: Keyed[Sent],
    agreed: Agreed,
    follow_up: FollowUpRequest | None = None,
) -> Sent:
    to, source = letter
    if source.template_id is None:
        check_text(source.subject, source.body or "")
    # A renewal due now may change the plan's terms: the send must use the new cycle's.
    sender = sending_account(deps, sender_id, now)  # a team seat sends on the team's plan
    plan = sender.subscription.plan
    pair = (sender_id, to)
    schedule = None if follow_up is None else plan_follow_up(deps, follow_up, plan, now, pair)
    route = new_inmail_route(reach_between(deps, sender, to, now, with_routes=not plan.inmail))
    check_agreed_cost(route, agreed)
    subject, body, (template_id, variant) = _text_of(deps, sender_id, to, source, now)
    text = Written(subject, body, template_id, variant)
    return deliver_inmail(
        deps,
        sender_id=sender_id,
        to=to,
        text=text,
        route=route,
        plan=plan,
        now=now,
        write=write,
        agreed=agreed,
        schedule=schedule,
    )


@dataclass(frozen=True, slots=True)
class Written:
    """An InMail's text as sent: subject and body, and the template and variant (``"a"``
    or ``"b"``) it was rendered from (None for text written by hand)."""

    subject: str
    body: str
    template_id: str | None = None
    variant: str | None = None


def deliver_inmail(
    deps: Deps,
    *,
    sender_id: str,
    to: str,
    text: Written,
    route: Route,
    plan: Plan,
    now: datetime,
    write: Keyed[Sent],
    agreed: Agreed = ANYTHING,
    then_execute: Callable[[Sent], tuple[Guard, ...]] | None = None,
    schedule: Callable[[str, str], dict[str, Any]] | None = None,
) -> Sent:
    """A new InMail thread whose route, cost and text are decided: the thread, the
    message, the recipient's notice and the spend, in one transaction; with
    ``schedule`` (:func:`plan_follow_up`), the scheduled follow-up's row too.

    The caller has checked the send rules (as :func:`send_inmail` does) under the
    sender's ``plan`` (the terms of the cycle it is sent in). ``write``'s key is looked
    up in that transaction first: a stored answer is replayed, nothing written.
    ``then_execute`` builds conditional UPDATEs from the answer, run last in that
    transaction (services.credits.spend_credits): one that changes no row rolls the
    whole send back (Conflict), charging nothing. Raises what the spend refuses
    (InsufficientCredits, OverageLimitReached, CostChanged, Conflict) and
    InmailAlreadyAwaitingResponse when a concurrent send to ``to`` came first.
    """
    check_may_send(deps, sender_id, now)  # a suspended sender is refused before any charge
    thread = ThreadRecord(
        new_id("th"),
        "inmail",
        sender_id,
        to,
        ThreadStatus.AWAITING_RESPONSE.value,
        now,
        now,
        now,
        0,
        None,
        None,
    )
    message = _inmail_message(
        thread.id, sender_id, "inmail", text.subject, text.body, route, plan, now
    )
    rows = _new_thread_rows(message, to, text, now)
    if schedule is not None:
        rows += ((scheduled_followups, schedule(thread.id, sender_id)),)
    try:
        return _charge(
            deps, sender_id, to, message, route, now, write, rows, (), agreed, then_execute
        )
    except IntegrityError:
        raise _lost_the_race(deps, sender_id, to, plan) from None


def _new_thread_rows(
    message: MessageRecord, to: str, text: Written, now: datetime
) -> tuple[tuple[Table, dict[str, Any]], ...]:
    """A new InMail's thread, its first ``message`` and the recipient's notice, as rows."""
    thread = ThreadRecord(
        message.thread_id,
        "inmail",
        message.sender_id,
        to,
        ThreadStatus.AWAITING_RESPONSE.value,
        now,
        now,
        now,
        0,
        None,
        None,
    )
    message = replace(message, template_id=text.template_id, variant=text.variant)
    notice = _new_inmail_notice(to, message.sender_id, text.subject, thread.id, now)
    return (
        (threads, message_store.thread_row(thread)),
        (messages, message_row(message)),
        (notifications, notice),
    )


def _lost_the_race(deps: Deps, sender_id: str, to: str, plan: Plan) -> Conflict:
    """A concurrent send to ``to`` wrote its thread first: the one-awaiting index refused ours.

    Its transaction rolled back, charging nothing. Raises that send's
    InmailAlreadyAwaitingResponse; returns a Conflict to raise if the thread
    was answered in the meantime.
    """
    with deps.db.read() as conn:
        check_nothing_awaiting(message_store.awaiting_inmail(conn, sender_id, to), plan)
    return Conflict(
        "another InMail to this member was sent and answered while you were sending; "
        "nothing was charged: send again"
    )


def _text_of(
    deps: Deps, sender_id: str, to: str, source: Source, now: datetime
) -> tuple[str, str, tuple[str | None, str | None]]:
    """(subject, body, (template id, variant)) of an InMail from ``source``."""
    if source.template_id is None:
        assert source.subject is not None
        assert source.body is not None
        return source.subject, source.body, (None, None)
    rendered = render_for(
        deps,
        owner_id=sender_id,
        template_id=source.template_id,
        to=to,
        now=now,
        variant=source.variant,
    )
    return rendered.subject, rendered.body, (rendered.template_id, rendered.variant.value)


def plan_follow_up(
    deps: Deps,
    follow_up: FollowUpRequest,
    plan: Plan,
    now: datetime,
    pair: tuple[str, str],
) -> Callable[[str, str], dict[str, Any]]:
    """Check a follow-up to schedule with a send now; returns its row for (thread, sender).

    ``pair`` is (sender, recipient). A follow-up from a template is rendered now, for
    that recipient (its body, variant A), and stored as text: what the sender saw
    scheduled is what goes out, even if the template is edited later.
    Raises ValidationError naming the field (see domain.sequences.check_schedule),
    and what services.templates.render_for raises (template-placeholder-missing).
    """
    check_schedule(follow_up, plan, deps.followup_max_days)
    if follow_up.template_id is not None:
        sender_id, to = pair
        rendered = render_for(
            deps, owner_id=sender_id, template_id=follow_up.template_id, to=to, now=now
        )
        follow_up = replace(follow_up, body=rendered.body)
    due = follow_up_due_at(now, follow_up.after_days)

    def row(thread_id: str, sender_id: str) -> dict[str, Any]:
        return schedule_store.new_schedule_row(
            new_id("sf"), thread_id, sender_id, follow_up, due, now
        )

    return row


def _inmail_message(
    thread_id: str,
    sender_id: str,
    kind: str,
    subject: str | None,
    body: str,
    route: Route,
    plan: Plan,
    now: datetime,
    message_id: str | None = None,
) -> MessageRecord:
    message_id = message_id or new_id("msg")
    return MessageRecord(
        id=message_id,
        thread_id=thread_id,
        sender_id=sender_id,
        kind=kind,
        subject=subject,
        body=body,
        cost_credits=route.cost,
        spend_reference=f"inmail:{message_id}",
        credit_back_days=plan.credit_back_days,  # the terms of the cycle it is sent in
        created_at=now,
    )


def _charge(
    deps: Deps,
    sender_id: str,
    to: str,
    message: MessageRecord,
    route: Route,
    now: datetime,
    write: Keyed[Sent],
    rows: tuple[Any, ...],
    guards: tuple[Any, ...],
    agreed: Agreed = ANYTHING,
    then_execute: Callable[[Sent], tuple[Guard, ...]] | None = None,
) -> Sent:
    assert message.spend_reference is not None
    sent_event = _sent_event(message, to, route.cost)

    def after(spent: SpendResult) -> tuple[Guard, ...]:
        assert then_execute is not None
        return then_execute(_sent(message, spent.cost, spent.overage_charge, spent.balance_after))

    spent = spend_credits(
        deps,
        member_id=sender_id,
        cost=route.cost,
        reference=message.spend_reference,
        now=now,
        idempotency_key=write.key,
        also_insert=rows,
        events=(sent_event,),
        also_execute=guards,
        request=write.request,
        scope=write.scope,
        agreed_overage_minor=agreed.overage_minor,
        then_execute=None if then_execute is None else after,
    )
    if spent.reference != message.spend_reference:  # a replay: answer with the first message
        message = _first(deps, spent.reference.removeprefix("inmail:"))
    else:  # committed just now (a replay was counted when it was first sent)
        record_send(route.channel.value, spent.cost)
    return _sent(message, spent.cost, spent.overage_charge, spent.balance_after)


def _sent_event(message: MessageRecord, to: str, cost: int) -> Event:
    """The ``inmail.sent`` event of a charged InMail ``message`` to ``to``."""
    assert message.spend_reference is not None
    return inmail_sent(
        message.sender_id,
        message.created_at,
        message_id=message.id,
        thread_id=message.thread_id,
        recipient_id=to,
        kind=message.kind,
        cost=cost,
        spend_reference=message.spend_reference,
    )


def _sent(
    message: MessageRecord, cost: int, overage: Money | None, balance_after: int | None
) -> Sent:
    return Sent(message.id, message.thread_id, message.kind, cost, overage, balance_after)


def _first(deps: Deps, message_id: str) -> MessageRecord:
    with deps.db.read() as conn:
        found = message_store.get_message(conn, message_id)
    assert found is not None
    return found


def message_write(
    deps: Deps, member_id: str, key: str | None, request: dict[str, Any]
) -> Keyed[Sent]:
    """The key of anything a member sends or posts in a thread: one scope per member.

    The stored answer of a charged send is its spend (see services.credits), from
    which the message is found; that of a free message names the message. Either
    way the answer is rebuilt from records that never change.
    """
    return Keyed(
        f"send:{member_id}",
        key,
        request,
        lambda sent: json.dumps({"message_id": sent.id}),
        lambda text: _stored_sent(deps, text),
    )


def _stored_sent(deps: Deps, text: str) -> Sent:
    answer = json.loads(text)
    if "spend_id" not in answer:
        return _sent(_first(deps, answer["message_id"]), 0, None, None)
    spent = decode_spend(text)
    message = _first(deps, spent.reference.removeprefix("inmail:"))
    return _sent(message, spent.cost, spent.overage_charge, spent.balance_after)


def _new_inmail_notice(
    to: str, sender_id: str, subject: str, thread_id: str, now: datetime
) -> dict[str, Any]:
    return notification_row(to, now, "new_inmail", f"New InMail: {subject}", f"thread:{thread_id}")


def post_in_thread(
    deps: Deps,
    *,
    member_id: str,
    thread_id: str,
    body: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Sent:
    """A message in a thread: a reply, a free message, or a charged follow-up InMail.

    A retry with the same ``idempotency_key`` answers the first post (a
    follow-up retried after the reply came is not posted again as a message).
    """
    require_utc(now)
    write = message_write(deps, member_id, idempotency_key, {"thread": thread_id, "body": body})
    return first_answer_or(
        deps, write, lambda: _post_in_thread(deps, member_id, thread_id, body, now, write)
    )


def _post_in_thread(
    deps: Deps, member_id: str, thread_id: str, body: str, now: datetime, write: Keyed[Sent]
) -> Sent:
    check_text(None, body)
    thread = _visible_thread(deps, member_id, thread_id)
    if thread.status == ThreadStatus.DECLINED:
        raise ThreadClosed("this InMail was declined: the thread is closed")
    if thread.status == ThreadStatus.AWAITING_RESPONSE:
        if member_id == thread.recipient_id:
            return _respond(deps, thread, now, reply_body=body, write=write)
        return _follow_up(deps, thread, body, now, write)
    return _free_message(deps, thread, member_id, body, "message", now, write, Channel.CONVERSATION)


def _visible_thread(deps: Deps, member_id: str, thread_id: str) -> ThreadRecord:
    with deps.db.read() as conn:
        thread = message_store.get_thread(conn, thread_id)
    if thread is None or not thread.involves(member_id):
        raise NotFound(f"there is no thread {thread_id!r}")  # 404: do not reveal others' threads
    return thread


def _follow_up(
    deps: Deps,
    thread: ThreadRecord,
    body: str,
    now: datetime,
    write: Keyed[Sent],
    scheduled: str | None = None,
) -> Sent:
    """A charged follow-up InMail; ``scheduled``: the id of the schedule it sends."""
    sender = thread.initiator_id
    check_may_send(deps, sender, now)  # a follow-up is a new InMail: a ban refuses it
    account = sending_account(deps, sender, now)  # the terms of the cycle it is sent in
    reach = reach_between(deps, account, thread.recipient_id, now, with_routes=False)
    assert thread.last_inmail_at is not None
    state = ThreadState(ThreadStatus(thread.status), thread.last_inmail_at, thread.followups_sent)
    check_followup(state, reach.sender_plan, now)
    route = inmail_route(reach)
    plan = account.subscription.plan
    message = _inmail_message(thread.id, sender, "followup", None, body, route, plan, now)
    # The guard makes two concurrent follow-ups (or a reply racing one) charge at most once.
    guard = (
        update(threads)
        .where(
            threads.c.id == thread.id,
            threads.c.status == ThreadStatus.AWAITING_RESPONSE.value,
            threads.c.followups_sent == thread.followups_sent,
        )
        .values(followups_sent=thread.followups_sent + 1, last_inmail_at=now, last_message_at=now)
    )
    notice = _new_inmail_notice(thread.recipient_id, sender, "follow-up", thread.id, now)
    rows: tuple[Any, ...] = ((messages, message_row(message)), (notifications, notice))
    guards = (guard, *_schedule_guards(deps, thread, message, scheduled, now))
    if scheduled is not None:  # the sender did not click: tell them what it cost
        told = scheduled_sent_text(route.cost)
        kind, about = "scheduled_follow_up_sent", f"thread:{thread.id}"
        rows += ((notifications, notification_row(sender, now, kind, told, about)),)
    return _charge(deps, sender, thread.recipient_id, message, route, now, write, rows, guards)


def _schedule_guards(
    deps: Deps, thread: ThreadRecord, message: MessageRecord, scheduled: str | None, now: datetime
) -> tuple[Any, ...]:
    """What a follow-up does to the thread's schedule, in its own transaction.

    A scheduled one moves its schedule from pending to sent; one by hand cancels a
    pending schedule (the thread gets one follow-up, the one the sender wrote). Each
    statement must change its one row, else nothing is charged: a reply, the sender's
    cancel or another run got there first.
    """
    if scheduled is not None:
        done = ScheduleStatus.SENT
        return (schedule_store.finish_statement(scheduled, done, now, message_id=message.id),)
    with deps.db.read() as conn:
        pending = schedule_store.pending_for_thread(conn, thread.id)
    if pending is None:
        return ()
    reason = CancelReason.FOLLOWED_UP_BY_HAND
    cancel = schedule_store.finish_statement(
        pending, ScheduleStatus.CANCELLED, now, reason_code=reason.value, reason=CANCEL_TEXT[reason]
    )
    return (cancel,)


def send_scheduled_follow_up(deps: Deps, *, schedule: ScheduledRecord, now: datetime) -> Sent:
    """Send a due scheduled follow-up through the follow-up path (SPEC §5), exactly once.

    Its idempotency key is the schedule's id, in a scope of its own, so a run
    retried after a crash answers the first send instead of charging again; and
    the send moves the schedule to ``sent`` in its own transaction. Raises the
    follow-up's refusals (InsufficientCredits, FollowUpLimitReached, ...),
    ThreadClosed if the thread no longer awaits a response, and Conflict if a
    reply, a cancel or another run got there first (nothing charged).
    """
    require_utc(now)
    assert schedule.body is not None, "a template's follow-up is rendered before it is sent"
    body = schedule.body
    request = {"scheduled_follow_up": schedule.id}
    write = replace(
        message_write(deps, schedule.sender_id, schedule.id, request),
        scope=f"scheduled-follow-up:{schedule.sender_id}",
    )

    def run() -> Sent:
        thread = _visible_thread(deps, schedule.sender_id, schedule.thread_id)
        if thread.status != ThreadStatus.AWAITING_RESPONSE:
            raise ThreadClosed(f"this thread is {thread.status.replace('_', ' ')} now")
        return _follow_up(deps, thread, body, now, write, scheduled=schedule.id)

    return first_answer_or(deps, write, run)


def _free_message(
    deps: Deps,
    thread: ThreadRecord,
    sender: str,
    body: str,
    kind: str,
    now: datetime,
    write: Keyed[Sent],
    channel: Channel,
) -> Sent:
    message = MessageRecord(new_id("msg"), thread.id, sender, kind, None, body, 0, None, 0, now)
    other = thread.recipient_id if sender == thread.initiator_id else thread.initiator_id

    def effect(conn: Connection) -> Sent:
        message_store.insert_message(conn, message)
        message_store.update_thread(conn, thread.id, last_message_at=now)
        message_store.notify(
            conn,
            member_id=other,
            at=now,
            kind="new_message",
            text=body[:120],
            reference=f"thread:{thread.id}",
        )
        return _sent(message, 0, None, None)

    sent = keyed_write(deps, write, now=now, effect=effect)
    if sent.id == message.id:  # committed just now, not the first answer replayed
        record_send(channel.value)
    return sent


def _respond(
    deps: Deps,
    thread: ThreadRecord,
    now: datetime,
    *,
    reply_body: str | None,
    write: Keyed[Sent] | None,
    reason: DeclineReason | None = None,
) -> Sent:
    """A reply (with a body) or a decline (without, with its ``reason`` if given): closes
    the wait, maybe credits back."""
    status = ThreadStatus.ANSWERED if reply_body is not None else ThreadStatus.DECLINED
    said = None if reason is None else reason.value

    def effect(conn: Connection) -> Sent:
        # Lock order account -> thread, the same as a follow-up's, so the two never deadlock.
        account_store.lock_account_row(conn, thread.initiator_id)
        moved = conn.execute(
            update(threads)
            .where(threads.c.id == thread.id, threads.c.status == thread.status)
            .values(status=status.value, responded_at=now, last_message_at=now, decline_reason=said)
        )
        if moved.rowcount != 1:
            raise ThreadClosed("this thread was answered or declined a moment ago")
        why = CancelReason.ANSWERED if reply_body is not None else CancelReason.DECLINED
        schedule_store.cancel_for_thread(conn, thread.id, why.value, CANCEL_TEXT[why], now)
        sent = _record_response(conn, thread, reply_body, now, said)
        _credit_back_inmails(deps, conn, thread, now)
        return sent

    if write is None:  # a decline: nothing to key
        with deps.db.write() as conn:
            return effect(conn)
    written: list[Sent] = []

    def reply(conn: Connection) -> Sent:
        written.append(effect(conn))
        return written[-1]

    # No lock of the replier's own account: one account lock per transaction, no deadlock.
    sent = keyed_write(deps, write, now=now, effect=reply)
    if written and sent is written[-1]:  # committed just now, not the first answer replayed
        record_send(REPLY)
    return sent


def _record_response(
    conn: Connection,
    thread: ThreadRecord,
    reply_body: str | None,
    now: datetime,
    said: str | None,
) -> Sent:
    """The response's message (a reply), the sender's notice and the recipient's
    ``inmail.responded`` event; ``said``: a decline's reason."""
    if reply_body is None:
        message_store.notify(
            conn,
            member_id=thread.initiator_id,
            at=now,
            kind="decline",
            text="Your InMail was declined",
            reference=f"thread:{thread.id}",
        )
        outbox.append(conn, [_responded(thread, now, None, said)])
        return Sent("", thread.id, "decline", 0, None, None)
    message = MessageRecord(
        new_id("msg"), thread.id, thread.recipient_id, "reply", None, reply_body, 0, None, 0, now
    )
    message_store.insert_message(conn, message)
    message_store.notify(
        conn,
        member_id=thread.initiator_id,
        at=now,
        kind="reply",
        text=f"New reply: {reply_body[:100]}",
        reference=f"thread:{thread.id}",
    )
    outbox.append(conn, [_responded(thread, now, message.id, None)])
    return Sent(message.id, thread.id, "reply", 0, None, None)


def _responded(
    thread: ThreadRecord, now: datetime, message_id: str | None, decline_reason: str | None
) -> Event:
    """The recipient's ``inmail.responded``: a reply (its message) or a decline (its reason)."""
    return inmail_responded(
        thread.recipient_id,
        now,
        thread_id=thread.id,
        sender_id=thread.initiator_id,
        response="reply" if message_id is not None else "decline",
        message_id=message_id,
        decline_reason=decline_reason,
    )


def _credit_back_inmails(deps: Deps, conn: Connection, thread: ThreadRecord, now: datetime) -> None:
    """Plans that opt in return each InMail's credit once when the answer came in time."""
    for message in message_store.thread_messages(conn, thread.id):
        reference = message.spend_reference
        if reference is None or message.cost_credits == 0:
            continue
        if not credit_back_applies(message.credit_back_days, message.created_at, now):
            continue
        spend = spend_store.find_spend(conn, reference)
        if spend is not None and spend.refunded_at is None:
            credit_back(deps, conn, member_id=thread.initiator_id, reference=reference, now=now)


def decline(
    deps: Deps,
    *,
    member_id: str,
    thread_id: str,
    now: datetime,
    reason: DeclineReason | None = None,
) -> ThreadStatus:
    """The recipient declines an InMail, with a ``reason`` or none; the thread closes.
    Raises Forbidden (not the recipient of an InMail) and ThreadClosed (already answered)."""
    require_utc(now)
    thread = _visible_thread(deps, member_id, thread_id)
    if member_id != thread.recipient_id or thread.kind != "inmail":
        raise Forbidden("only the recipient of an InMail can decline it")
    if thread.status != ThreadStatus.AWAITING_RESPONSE:
        raise ThreadClosed(f"this InMail is already {thread.status.replace('_', ' ')}")
    _respond(deps, thread, now, reply_body=None, write=None, reason=reason)
    return ThreadStatus.DECLINED


def mark_read(deps: Deps, *, member_id: str, thread_id: str, now: datetime) -> datetime:
    """The recipient opened the thread (the read receipt); the first open counts."""
    require_utc(now)
    thread = _visible_thread(deps, member_id, thread_id)
    if member_id != thread.recipient_id:
        raise Forbidden("only the recipient records that a thread was read")
    if thread.opened_at is not None:
        return thread.opened_at
    with deps.db.write() as conn:
        message_store.update_thread(conn, thread.id, opened_at=now)
    return now


def send_message(
    deps: Deps,
    *,
    sender_id: str,
    to: str,
    body: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Sent:
    """A free message to a 1st-degree connection, in the pair's message thread."""
    require_utc(now)
    write = message_write(deps, sender_id, idempotency_key, {"to": to, "body": body})
    return first_answer_or(
        deps, write, lambda: _send_message(deps, sender_id, to, body, now, write)
    )


def _send_message(
    deps: Deps, sender_id: str, to: str, body: str, now: datetime, write: Keyed[Sent]
) -> Sent:
    check_text(None, body)
    sender = current_account(deps, sender_id, now)
    recipient = recipient_as_of(deps, sender, to, now)
    with deps.db.read() as conn:
        reach = gather_reach(deps, conn, sender, recipient, with_routes=False)
        existing = message_store.thread_between(conn, "message", sender_id, to)
    if not reach.connected:
        raise NotAConnection("free messages go to 1st-degree connections; try InMail")
    if reach.you_blocked:
        raise RecipientBlockedByYou("you blocked this member: unblock them to write to them")
    if reach.blocked:
        raise Forbidden("you cannot message this member")
    thread = existing or _open_message_thread(deps, sender_id, to, now)
    return _free_message(deps, thread, sender_id, body, "message", now, write, Channel.MESSAGE)


def _open_message_thread(deps: Deps, a: str, b: str, now: datetime) -> ThreadRecord:
    thread = ThreadRecord(
        new_id("th"), "message", a, b, ThreadStatus.OPEN.value, now, now, None, 0, None, None
    )
    with deps.db.write() as conn:
        message_store.insert_thread(conn, thread)
    return thread


def refuse_cancel(deps: Deps, *, member_id: str, message_id: str) -> None:
    """SPEC §4: a sent InMail cannot be cancelled, edited or deleted — say so clearly."""
    with deps.db.read() as conn:
        message = message_store.get_message(conn, message_id)
        thread = None if message is None else message_store.get_thread(conn, message.thread_id)
    if message is None or thread is None or not thread.involves(member_id):
        raise NotFound(f"there is no InMail {message_id!r}")
    raise CannotCancelSentInmail(
        "a sent InMail cannot be cancelled, edited or deleted: its credit was spent on sending"
    )


def block_member(deps: Deps, *, member_id: str, other: str, now: datetime, on: bool) -> bool:
    require_utc(now)
    recipient_as_of(deps, current_account(deps, member_id, now), other, now)  # both exist
    with deps.db.write() as conn:
        if on:
            network_store.block(conn, member_id, other, now)
        else:
            network_store.unblock(conn, member_id, other)
    return on
