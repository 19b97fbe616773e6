"""Members as others see them, invitations to connect, and blocking."""

from __future__ import annotations

from fastapi import APIRouter

from inmail.api import render
from inmail.api.deps import CurrentMember, IdempotencyKey, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.schemas import BlockOut, InvitationIn, InvitationOut, MemberViewOut
from inmail.services import inmail, members, network

router = APIRouter(
    prefix="/v1", tags=["network"], responses=problem_responses(401, 403, 404, 409, 422)
)


@router.get("/members/{other_id}")
def read_member(
    other_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> MemberViewOut:
    record = members.get_member(deps, other_id, now=now)
    degree = network.degree_between(deps, viewer=member_id, other=other_id)
    return MemberViewOut(**render.member(record).model_dump(), degree=degree)


@router.post("/invitations", status_code=201)
def invite(
    body: InvitationIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> InvitationOut:
    made = network.invite(
        deps, from_id=member_id, to=body.to, note=body.note, now=now, idempotency_key=key
    )
    return render.invitation(made)


@router.get("/me/invitations")
def my_invitations(member_id: CurrentMember, deps: ServicesDep) -> list[InvitationOut]:
    return [render.invitation(i) for i in network.pending_invitations(deps, member_id=member_id)]


@router.post("/invitations/{invitation_id}/accept")
def accept(
    invitation_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> InvitationOut:
    return _answer(invitation_id, member_id, deps, now, accept=True)


@router.post("/invitations/{invitation_id}/decline")
def decline(
    invitation_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> InvitationOut:
    return _answer(invitation_id, member_id, deps, now, accept=False)


def _answer(
    invitation_id: str, member_id: str, deps: ServicesDep, now: Now, *, accept: bool
) -> InvitationOut:
    answered = network.answer_invitation(
        deps, member_id=member_id, invitation_id=invitation_id, accept=accept, now=now
    )
    return render.invitation(answered)


@router.put("/members/{other_id}/block")
def block(other_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now) -> BlockOut:
    inmail.block_member(deps, member_id=member_id, other=other_id, now=now, on=True)
    return BlockOut(member=other_id, blocked=True)


@router.delete("/members/{other_id}/block")
def unblock(other_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now) -> BlockOut:
    inmail.block_member(deps, member_id=member_id, other=other_id, now=now, on=False)
    return BlockOut(member=other_id, blocked=False)
