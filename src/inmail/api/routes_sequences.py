"""Scheduled follow-ups: the sender's list, one schedule, and its cancel (issue 10 §7)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from inmail.api.deps import CurrentMember, IdPath, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_time_key, encode_keys
from inmail.api.schemas import FollowUpIn, Page, ScheduledFollowUpOut, ScheduledRefOut
from inmail.domain.sequences import FollowUpRequest, ScheduleStatus
from inmail.services import sequences
from inmail.services.context import Deps
from inmail.store.sequences import ScheduledRecord

router = APIRouter(
    prefix="/v1/me/scheduled-follow-ups",
    tags=["messaging"],
    responses=problem_responses(401, 403, 404, 422),
)
StatusQuery = Annotated[
    Literal["pending", "sent", "cancelled", "failed"] | None,
    Query(description="only the schedules in this state"),
]


@router.get("")
def list_scheduled(
    member_id: CurrentMember,
    deps: ServicesDep,
    status: StatusQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ScheduledFollowUpOut]:
    """My scheduled follow-ups, soonest due first."""
    after = decode_time_key(cursor)
    wanted = None if status is None else ScheduleStatus(status)
    found = sequences.list_schedules(
        deps, member_id=member_id, status=wanted, after=after, limit=limit
    )
    last = found[-1] if len(found) == limit else None
    following = None if last is None else encode_keys(last.due_at.isoformat(), last.id)
    return Page(items=[scheduled(s) for s in found], next_cursor=following)


@router.get("/{schedule_id}")
def read_scheduled(
    schedule_id: IdPath, member_id: CurrentMember, deps: ServicesDep
) -> ScheduledFollowUpOut:
    found = sequences.get_schedule(deps, member_id=member_id, schedule_id=schedule_id)
    return scheduled(found)


@router.delete("/{schedule_id}", responses=problem_responses(409))
def cancel_scheduled(
    schedule_id: IdPath, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> ScheduledFollowUpOut:
    """Cancel a pending follow-up (a cancelled one answers as it is); sent or failed: 409."""
    cancelled = sequences.cancel_schedule(
        deps, member_id=member_id, schedule_id=schedule_id, now=now
    )
    return scheduled(cancelled)


def follow_up_request(given: FollowUpIn) -> FollowUpRequest:
    return FollowUpRequest(given.after_days, given.body, given.template_id)


def scheduled_ref(deps: Deps, member_id: str, thread_id: str) -> ScheduledRefOut | None:
    """The schedule a send made (its id and due time never change: a replay shows the same)."""
    found = sequences.schedule_of_thread(deps, member_id=member_id, thread_id=thread_id)
    return None if found is None else ScheduledRefOut(id=found.id, due_at=found.due_at)


def scheduled(s: ScheduledRecord) -> ScheduledFollowUpOut:
    return ScheduledFollowUpOut(
        id=s.id,
        thread_id=s.thread_id,
        recipient=s.recipient_id,
        after_days=s.after_days,
        due_at=s.due_at,
        body=s.body,
        template_id=s.template_id,
        status=s.status,  # type: ignore[arg-type]
        reason_code=s.reason_code,
        reason=s.reason,
        message_id=s.message_id,
        attempts=s.attempts,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )
