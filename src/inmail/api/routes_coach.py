"""The message coach: tips on a draft before it is sent (SPEC §8)."""

from __future__ import annotations

from fastapi import APIRouter

from inmail.api.deps import CurrentMember, Now, RuntimeDep
from inmail.api.errors import problem_responses
from inmail.api.schemas_coach import CoachIn, CoachOut, TipOut
from inmail.services import coach

router = APIRouter(
    prefix="/v1", tags=["messaging"], responses=problem_responses(401, 403, 404, 422)
)


@router.post("/coach")
def coach_draft(body: CoachIn, member_id: CurrentMember, rt: RuntimeDep, now: Now) -> CoachOut:
    """Tips on a draft: each says what it found and why it matters; nothing is written.

    With ``to``: also whether they are reachable for free and whether your InMail to them
    still awaits a response. An unknown ``to`` is 404; yourself, 422.
    """
    tips = coach.coach_draft(
        rt.deps,
        member_id=member_id,
        to=body.to,
        subject=body.subject,
        body=body.body,
        now=now,
        limits=coach.thresholds(rt.settings),
    )
    return CoachOut(tips=[TipOut.of(tip) for tip in tips])
