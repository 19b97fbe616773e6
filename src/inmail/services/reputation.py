"""Sender reputation (SPEC §10, issue 14 §3): the send guards, spam reports, the
response-rate floor's evaluation, a member's standing, appeals and the operator's view.

The rules are domain.reputation's; this module gathers their facts and stores what they
decide, each change with its notification and outbox event in one transaction under the
sender's account lock (so concurrent reports or evaluations decide one after the other).

- :func:`check_may_send` is the guard of every InMail the sender starts or follows up on
  (services.inmail calls it before the charge): one row read by primary key.
- :func:`check_may_bulk_send` evaluates the floor first (never waiting for the worker),
  then refuses a suspended sender or one whose bulk sending is off.
- :func:`sweep` is the worker's: it evaluates every member the floor may concern, so a
  member who never sends in bulk is warned too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection

from inmail.domain import dates
from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    BulkSendingOff,
    Conflict,
    Forbidden,
    NotFound,
    SendingSuspended,
)
from inmail.domain.events import (
    inmail_reported,
    member_appeal_decided,
    member_bulk_sending_off,
    member_suspended,
    member_warned,
)
from inmail.domain.reputation import (
    APPEAL,
    RateChange,
    RateFacts,
    RateState,
    ReportReason,
    ReputationRules,
    bulk_off_reason,
    counted_reports,
    next_rate_state,
    spam_ban,
    warning_text,
)
from inmail.domain.timeline import capped_later
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write, stored_answer
from inmail.store import accounts as account_store
from inmail.store import messaging as message_store
from inmail.store import outbox
from inmail.store import reputation as store
from inmail.store.reputation import ReportRecord, StandingRecord, SuspensionRecord

SWEEP_CHUNK = 200
StandingStatus = Literal["ok", "warned", "bulk_off", "suspended"]


# --- the guards ---------------------------------------------------------------------------


def check_may_send(deps: Deps, sender_id: str, now: datetime) -> None:
    """Refuse an InMail (new, follow-up, scheduled or bulk) from a suspended sender.

    Raises SendingSuspended with the ban's end (UTC) and reason. Reads one row by
    primary key; call it before the charge. Replies and free messages are not guarded.
    """
    with deps.db.read() as conn:
        check_may_send_in(conn, sender_id, now)


def check_may_send_in(conn: Connection, sender_id: str, now: datetime) -> None:
    """:func:`check_may_send` inside a transaction the caller holds (a send path that gathers
    what it needs in one transaction can call this instead: one primary-key read)."""
    _refuse_if_suspended(store.get_standing(conn, sender_id), now)


def _refuse_if_suspended(standing: StandingRecord, now: datetime) -> None:
    until = standing.suspended_until
    if until is None or now >= until:
        return
    reason = standing.suspension_reason or "spam reports"
    raise SendingSuspended(
        f"sending InMail is suspended until {dates.day_and_time(until)}: {reason}; replies are "
        "still allowed, and you can appeal",
        until=until,
        reason=reason,
    )


def check_may_bulk_send(deps: Deps, member_id: str, now: datetime) -> None:
    """Refuse a bulk send (its dry run too) from a suspended sender (SendingSuspended) or
    one whose bulk sending is off (BulkSendingOff, with until when and why). Evaluates the
    response-rate floor at ``now`` first (:func:`evaluate_rate`)."""
    standing = evaluate_rate(deps, member_id, now)
    _refuse_if_suspended(standing, now)
    until = standing.bulk_off_until
    if until is not None and now < until:
        reason = standing.bulk_off_reason or "a low response rate"
        raise BulkSendingOff(
            f"bulk sending is off until {dates.day_and_time(until)}: {reason}; 1:1 InMail is "
            "still allowed",
            until=until,
            reason=reason,
        )


# --- the response-rate floor ------------------------------------------------------------


def rate_facts(deps: Deps, conn: Connection, member_id: str, now: datetime) -> RateFacts:
    since = now - timedelta(days=deps.reputation.window_days)
    return store.rate_facts(conn, member_id, since, now)


def evaluate_rate(deps: Deps, member_id: str, now: datetime) -> StandingRecord:
    """Apply the floor's rule at ``now`` and store what changed: a warning, bulk sending
    off, a warning cleared or a bulk-off period over. Returns the standing after it.

    Reads first; only a change takes the member's account lock, where it is decided
    again (a concurrent evaluation may have made it): each change is written once, with
    its notification and event.
    """
    require_utc(now)
    rules = deps.reputation
    with deps.db.read() as conn:
        standing = store.get_standing(conn, member_id)
        facts = rate_facts(deps, conn, member_id, now)
    _, change = next_rate_state(_rate_state(standing), facts, now, rules)
    if change is None:
        return standing
    with deps.db.write() as conn:
        account_store.lock_account_row(conn, member_id)
        standing = store.get_standing(conn, member_id)
        state, change = next_rate_state(_rate_state(standing), facts, now, rules)
        if change is None:
            return standing
        standing = replace(
            standing,
            warned_at=state.warned_at,
            bulk_off_from=state.bulk_off_from,
            bulk_off_until=state.bulk_off_until,
            bulk_off_reason=None if state.bulk_off_until is None else bulk_off_reason(facts, rules),
        )
        store.save_standing(conn, standing, now)
        _tell_rate_change(conn, standing, change, facts, rules, now)
    return standing


def _rate_state(standing: StandingRecord) -> RateState:
    return RateState(standing.warned_at, standing.bulk_off_from, standing.bulk_off_until)


def _tell_rate_change(
    conn: Connection,
    standing: StandingRecord,
    change: RateChange,
    facts: RateFacts,
    rules: ReputationRules,
    now: datetime,
) -> None:
    """The notification and event of a warning or of bulk sending going off."""
    member_id = standing.member_id
    if change == RateChange.WARNED:
        assert standing.warned_at is not None
        text = warning_text(facts, rules, standing.warned_at)
        _notify(conn, member_id, now, "reputation_warning", text)
        off_at = capped_later(standing.warned_at, timedelta(days=rules.grace_days))
        event = member_warned(
            member_id,
            now,
            sent=facts.sent,
            answered=facts.answered,
            floor=rules.floor,
            bulk_off_at=off_at,
        )
        outbox.append(conn, [event])
    elif change == RateChange.BULK_OFF:
        assert standing.bulk_off_until is not None
        assert standing.bulk_off_reason is not None
        until, reason = standing.bulk_off_until, standing.bulk_off_reason
        text = f"Bulk sending is off until {dates.day_and_time(until)}: {reason}"
        _notify(conn, member_id, now, "bulk_sending_off", text)
        outbox.append(conn, [member_bulk_sending_off(member_id, now, until=until, reason=reason)])


def _notify(
    conn: Connection, member_id: str, now: datetime, kind: str, text: str, about: str = ""
) -> None:
    """A notice about the member's standing; ``about``: the reference (``suspension:ID``),
    by default ``standing:MEMBER``."""
    reference = about or f"standing:{member_id}"
    message_store.notify(
        conn, member_id=member_id, at=now, kind=kind, text=text, reference=reference
    )


@dataclass(frozen=True, slots=True)
class SweepReport:
    """``checked``: members evaluated; ``changed``: standings the sweep changed."""

    checked: int = 0
    changed: int = 0


def sweep(
    deps: Deps, *, now: datetime, should_stop: Callable[[], bool] = lambda: False
) -> SweepReport:
    """Evaluate the floor at ``now`` for every member it may concern (store.reputation.
    rate_candidates), :data:`SWEEP_CHUNK` at a time; stops between members once
    ``should_stop()``."""
    require_utc(now)
    rules = deps.reputation
    since = now - timedelta(days=rules.window_days)
    checked = changed = 0
    after: str | None = None
    while not should_stop():
        with deps.db.read() as conn:
            members = store.rate_candidates(
                conn, since=since, min_sent=rules.min_sent, after=after, limit=SWEEP_CHUNK
            )
        for member_id in members:
            if should_stop():
                break
            before = _standing(deps, member_id)
            changed += evaluate_rate(deps, member_id, now) != before
            checked += 1
        if len(members) < SWEEP_CHUNK:
            break
        after = members[-1]
    return SweepReport(checked, changed)


def _standing(deps: Deps, member_id: str) -> StandingRecord:
    with deps.db.read() as conn:
        return store.get_standing(conn, member_id)


# --- spam reports and the ban ladder ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reported:
    """A report as its reporter sees it; ``created``: False when it answers an earlier one."""

    report: ReportRecord
    created: bool


def report_thread(
    deps: Deps,
    *,
    reporter_id: str,
    thread_id: str,
    reason: ReportReason,
    now: datetime,
    idempotency_key: str | None = None,
) -> Reported:
    """The recipient of an InMail thread reports it as spam or not relevant.

    One report per recipient per thread: a repeat answers the first (its reason too,
    ``created`` False); a retry with the same ``idempotency_key`` answers the first
    answer (IdempotencyKeyReused for the key with another request). In the same
    transaction, under the sender's account lock, the ban ladder is applied
    (domain.reputation.spam_ban): a new ban is stored with its notification and
    ``member.suspended`` event. Raises NotFound (not the caller's thread) and Forbidden
    (not an InMail thread, or the caller sent it).
    """
    require_utc(now)
    request = {"thread": thread_id, "reason": reason.value}
    write = keyed(str, f"report:{reporter_id}", idempotency_key, request)
    found = stored_answer(deps, write)
    if found is not None:
        return Reported(_report_by_id(deps, found), created=True)
    with deps.db.read() as conn:
        thread = message_store.get_thread(conn, thread_id)
    if thread is None or not thread.involves(reporter_id):
        raise NotFound(f"there is no thread {thread_id!r}")
    if thread.kind != "inmail" or thread.recipient_id != reporter_id:
        raise Forbidden("only the recipient of an InMail can report it")
    report = ReportRecord(
        id=new_id("rpt"),
        thread_id=thread.id,
        reporter_id=reporter_id,
        sender_id=thread.initiator_id,
        reason=reason.value,
        inmail_sent_at=thread.last_inmail_at or thread.created_at,
        created_at=now,
    )
    made: list[ReportRecord] = []
    earlier: list[ReportRecord] = []  # the reporter's first report of this thread

    def effect(conn: Connection) -> str:
        if not store.insert_report(conn, report):
            first = store.find_report(conn, report.thread_id, reporter_id)
            assert first is not None
            earlier.append(first)
            return first.id
        event = inmail_reported(
            reporter_id,
            now,
            thread_id=report.thread_id,
            sender_id=report.sender_id,
            reason=reason.value,
        )
        outbox.append(conn, [event])
        _apply_ladder(deps, conn, report.sender_id, now)
        made.append(report)
        return report.id

    # The sender's lock: concurrent reports on one sender decide the ladder one at a time.
    answer = keyed_write(deps, write, now=now, effect=effect, lock_member=report.sender_id)
    if made and answer == report.id:
        return Reported(report, created=True)
    if earlier and answer == earlier[-1].id:  # reported before, under another key or none
        return Reported(earlier[-1], created=False)
    return Reported(_report_by_id(deps, answer), created=True)  # this key's first answer


def _report_by_id(deps: Deps, report_id: str) -> ReportRecord:
    with deps.db.read() as conn:
        found = store.get_report(conn, report_id)
    assert found is not None
    return found


def _apply_ladder(deps: Deps, conn: Connection, sender_id: str, now: datetime) -> None:
    """Store the ban the sender's reports bring now, if any (the caller holds the lock)."""
    rules = deps.reputation
    since = now - timedelta(days=rules.report_window_days)
    reports = store.recent_reports(conn, sender_id, since)
    had = store.member_suspensions(conn, sender_id)
    decision = spam_ban(reports, [s.as_past_ban() for s in had], now, rules)
    if decision is None:
        return
    reason = decision.reason(rules)
    suspension = store.insert_suspension(
        conn,
        {
            "id": new_id("sus"),
            "member_id": sender_id,
            "level": decision.level,
            "starts_at": decision.starts_at,
            "ends_at": decision.ends_at,
            "reason": reason,
            "reports": decision.reports,
            "appeal_status": "none",
        },
    )
    standing = store.get_standing(conn, sender_id)
    standing = replace(
        standing,
        suspended_until=suspension.ends_at,
        suspension_id=suspension.id,
        suspension_reason=reason,
    )
    store.save_standing(conn, standing, now)
    text = f"Sending InMail is suspended until {dates.day_and_time(suspension.ends_at)}: {reason}"
    _notify(conn, sender_id, now, "sending_suspended", text, f"suspension:{suspension.id}")
    event = member_suspended(
        sender_id,
        now,
        suspension_id=suspension.id,
        level=suspension.level,
        until=suspension.ends_at,
        reason=reason,
        reports=suspension.reports,
    )
    outbox.append(conn, [event])


# --- a member's standing and their appeal -------------------------------------------------


@dataclass(frozen=True, slots=True)
class StandingView:
    """A sender's standing at ``now``: ``status`` (ok | warned | bulk_off | suspended, the
    gravest), the window's counts, the stored standing, the running suspension (or None)
    and the reports counted toward the next ban."""

    status: StandingStatus
    facts: RateFacts
    rules: ReputationRules
    standing: StandingRecord
    suspension: SuspensionRecord | None
    reports_counted: int
    now: datetime

    @property
    def bulk_off(self) -> bool:
        until = self.standing.bulk_off_until
        return until is not None and self.now < until

    @property
    def warned_off_at(self) -> datetime | None:
        """When bulk sending goes off if the rate stays under the floor (None: not warned)."""
        warned = self.standing.warned_at
        return (
            None if warned is None else capped_later(warned, timedelta(days=self.rules.grace_days))
        )


def get_standing(deps: Deps, *, member_id: str, now: datetime) -> StandingView:
    """The member's standing at ``now`` (UTC), the floor evaluated first (:func:`evaluate_rate`)."""
    standing = evaluate_rate(deps, member_id, now)
    rules = deps.reputation
    with deps.db.read() as conn:
        facts = rate_facts(deps, conn, member_id, now)
        had = store.member_suspensions(conn, member_id)
        reports = store.recent_reports(
            conn, member_id, now - timedelta(days=rules.report_window_days)
        )
    running = next((s for s in reversed(had) if s.running(now)), None)
    counted = counted_reports(reports, [s.as_past_ban() for s in had], now, rules)
    view = StandingView("ok", facts, rules, standing, running, counted, now)
    return replace(view, status=_status(view))


def _status(view: StandingView) -> StandingStatus:
    if view.suspension is not None:
        return "suspended"
    if view.bulk_off:
        return "bulk_off"
    if view.standing.warned_at is not None:
        return "warned"
    return "ok"


def appeal(
    deps: Deps,
    *,
    member_id: str,
    text: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> SuspensionRecord:
    """The member appeals their running suspension, once; it stays in force until the
    operator decides. A retry with the same ``idempotency_key`` answers the suspension as
    it is now. Raises ValidationError (``text`` breaking domain.reputation.APPEAL),
    Conflict (no running suspension, or it was appealed already) and IdempotencyKeyReused.
    """
    require_utc(now)
    text = APPEAL.check(text, field="text")
    write = keyed(str, f"appeal:{member_id}", idempotency_key, {"text": text})

    def effect(conn: Connection) -> str:
        had = store.member_suspensions(conn, member_id)
        running = next((s for s in reversed(had) if s.running(now)), None)
        if running is None:
            raise Conflict("you have no suspension in force to appeal")
        if not store.change_suspension(
            conn, running.id, "none", appeal_status="pending", appeal_text=text, appealed_at=now
        ):
            raise Conflict("this suspension was appealed already: the operator will decide")
        return running.id

    appealed = keyed_write(deps, write, now=now, effect=effect, lock_member=member_id)
    with deps.db.read() as conn:
        found = store.get_suspension(conn, appealed)
    assert found is not None
    return found


def decide_appeal(
    deps: Deps, *, suspension_id: str, accept: bool, now: datetime
) -> SuspensionRecord:
    """The operator accepts (the ban is lifted at ``now`` and no longer counts on the
    ladder) or rejects (the ban runs its course) a pending appeal; the member is notified
    and ``member.appeal_decided`` written. Raises NotFound and Conflict (no pending appeal)."""
    require_utc(now)
    with deps.db.read() as conn:
        found = store.get_suspension(conn, suspension_id)
    if found is None:
        raise NotFound(f"there is no suspension {suspension_id!r}")
    outcome = "accepted" if accept else "rejected"
    changes: dict[str, Any] = {"appeal_status": outcome, "decided_at": now}
    if accept:
        changes["lifted_at"] = now
    with deps.db.write() as conn:
        account_store.lock_account_row(conn, found.member_id)
        if not store.change_suspension(conn, suspension_id, "pending", **changes):
            raise Conflict("this suspension has no appeal waiting for a decision")
        if accept:
            _lift(conn, found, now)
        _tell_decision(conn, found, accept, now)
        decided = store.get_suspension(conn, suspension_id)
    assert decided is not None
    return decided


def _lift(conn: Connection, suspension: SuspensionRecord, now: datetime) -> None:
    standing = store.get_standing(conn, suspension.member_id)
    if standing.suspension_id == suspension.id:
        lifted = replace(standing, suspended_until=None, suspension_id=None, suspension_reason=None)
        store.save_standing(conn, lifted, now)


def _tell_decision(
    conn: Connection, suspension: SuspensionRecord, accept: bool, now: datetime
) -> None:
    member_id = suspension.member_id
    if accept:
        text = "Your appeal was accepted: you can send InMail again"
        kind = "appeal_accepted"
    else:
        ends = dates.day_and_time(suspension.ends_at)
        text = f"Your appeal was rejected: the suspension ends {ends}"
        kind = "appeal_rejected"
    _notify(conn, member_id, now, kind, text, f"suspension:{suspension.id}")
    event = member_appeal_decided(
        member_id,
        now,
        suspension_id=suspension.id,
        outcome="accepted" if accept else "rejected",
        lifted=accept,
    )
    outbox.append(conn, [event])


def list_suspensions(
    deps: Deps, *, appeal_status: str | None, before: int | None, limit: int
) -> list[SuspensionRecord]:
    """The operator's view: suspensions newest first, optionally only those whose appeal
    is ``appeal_status`` (none | pending | accepted | rejected)."""
    with deps.db.read() as conn:
        return store.list_suspensions(conn, appeal_status=appeal_status, before=before, limit=limit)


# --- what the web pages show ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Banner:
    """The sender's pages' banner: ``kind`` (warned | bulk_off | suspended), ``until`` (UTC:
    when the ban or bulk-off ends, or when bulk sending goes off if a warning persists) and
    ``reason`` in words."""

    kind: str
    until: datetime
    reason: str


def banner(deps: Deps, *, member_id: str, now: datetime) -> Banner | None:
    """The banner of the member's standing at ``now``, the gravest first; None: in good
    standing. Reads the one standing row (nothing is evaluated here: the worker, a bulk
    send and the standing page do that)."""
    with deps.db.read() as conn:
        standing = store.get_standing(conn, member_id)
    return banner_of(standing, deps.reputation, now)


def banner_of(standing: StandingRecord, rules: ReputationRules, now: datetime) -> Banner | None:
    """:func:`banner` from a standing row already read (``rules``: the deployment's)."""
    if standing.suspended_until is not None and now < standing.suspended_until:
        reason = standing.suspension_reason or "spam reports"
        return Banner("suspended", standing.suspended_until, reason)
    if standing.bulk_off_until is not None and now < standing.bulk_off_until:
        reason = standing.bulk_off_reason or "a low response rate"
        return Banner("bulk_off", standing.bulk_off_until, reason)
    if standing.warned_at is not None and standing.bulk_off_until is None:
        off_at = capped_later(standing.warned_at, timedelta(days=rules.grace_days))
        reason = (
            f"under {rules.floor:.0%} of your InMails in {rules.window_days} days were answered"
        )
        return Banner("warned", off_at, reason)
    return None


def my_report(deps: Deps, *, member_id: str, thread_id: str) -> ReportRecord | None:
    """The member's report of the thread, if they made one."""
    with deps.db.read() as conn:
        return store.find_report(conn, thread_id, member_id)
