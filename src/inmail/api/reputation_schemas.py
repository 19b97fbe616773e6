"""Shapes of sender reputation's API: reports, a member's standing, appeals, suspensions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from inmail.api.fields import TextField
from inmail.api.schemas import In
from inmail.domain.reputation import APPEAL
from inmail.services.reputation import Reported, StandingStatus, StandingView
from inmail.store.reputation import SuspensionRecord

ReportReasonText = Literal["spam", "not_relevant"]
AppealState = Literal["none", "pending", "accepted", "rejected"]
AppealQuery = Annotated[
    AppealState | None, Query(description="only suspensions whose appeal is in this state")
]


class ReportIn(In):
    reason: Annotated[ReportReasonText, Field(description="spam or not_relevant")]


class ReportOut(BaseModel):
    """A report; a repeat of the same thread by the same member answers the first."""

    id: str
    thread_id: str
    reason: ReportReasonText
    reported_at: datetime


class AppealIn(In):
    text: Annotated[str, TextField(APPEAL), Field(description="why it should be lifted")]


class AppealOut(BaseModel):
    status: AppealState
    text: str | None
    appealed_at: datetime | None
    decided_at: datetime | None


class SuspensionOut(BaseModel):
    """A send ban: ``level`` is its step on the ladder (1 = the first, 24 hours);
    ``lifted_at`` is set when an appeal was accepted."""

    id: str
    member_id: str
    level: int
    starts_at: datetime
    until: datetime
    reason: str
    reports: int
    lifted_at: datetime | None
    appeal: AppealOut


class ResponseRateOut(BaseModel):
    """The window's figures: InMails ``sent`` in the last ``window_days`` and how many
    were ``answered`` (replied to or declined); ``rate`` is None when none were sent."""

    sent: int
    answered: int
    rate: float | None
    window_days: int
    min_sent: int
    floor: float


class SpamReportsOut(BaseModel):
    """Reports counted toward the next ban, and how many bring one."""

    counted: int
    to_ban: int
    window_days: int


class StandingOut(BaseModel):
    """The sender's standing: ``status`` is the gravest of ok, warned, bulk_off, suspended."""

    status: StandingStatus
    response_rate: ResponseRateOut
    warned_at: datetime | None
    bulk_off_at: datetime | None  # when bulk sending goes off if the rate stays low
    bulk_off_until: datetime | None
    bulk_off_reason: str | None
    suspension: SuspensionOut | None
    spam_reports: SpamReportsOut


def report(found: Reported) -> ReportOut:
    r = found.report
    return ReportOut(
        id=r.id,
        thread_id=r.thread_id,
        reason="spam" if r.reason == "spam" else "not_relevant",
        reported_at=r.created_at,
    )


def suspension(s: SuspensionRecord) -> SuspensionOut:
    status: AppealState = "none"
    for known in ("pending", "accepted", "rejected"):
        if s.appeal_status == known:
            status = known
    appeal = AppealOut(
        status=status, text=s.appeal_text, appealed_at=s.appealed_at, decided_at=s.decided_at
    )
    return SuspensionOut(
        id=s.id,
        member_id=s.member_id,
        level=s.level,
        starts_at=s.starts_at,
        until=s.ends_at,
        reason=s.reason,
        reports=s.reports,
        lifted_at=s.lifted_at,
        appeal=appeal,
    )


def standing(view: StandingView) -> StandingOut:
    rules, stored = view.rules, view.standing
    off_at = None
    if stored.warned_at is not None and stored.bulk_off_until is None:
        off_at = view.warned_off_at
    bulk_until = stored.bulk_off_until if view.bulk_off else None
    return StandingOut(
        status=view.status,
        response_rate=ResponseRateOut(
            sent=view.facts.sent,
            answered=view.facts.answered,
            rate=view.facts.rate,
            window_days=rules.window_days,
            min_sent=rules.min_sent,
            floor=rules.floor,
        ),
        warned_at=stored.warned_at,
        bulk_off_at=off_at,
        bulk_off_until=bulk_until,
        bulk_off_reason=stored.bulk_off_reason if bulk_until is not None else None,
        suspension=None if view.suspension is None else suspension(view.suspension),
        spam_reports=SpamReportsOut(
            counted=view.reports_counted,
            to_ban=rules.reports_to_ban,
            window_days=rules.report_window_days,
        ),
    )
