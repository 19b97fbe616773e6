"""The free routes: groups, posts and mentions, contact info, mutual connections, introductions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inmail.api import render
from inmail.api.deps import CurrentMember, IdempotencyKey, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor
from inmail.api.schemas import (
    ContactInfoIn,
    ContactInfoOut,
    ForwardIn,
    GroupIn,
    GroupMessageIn,
    GroupOut,
    IntroductionIn,
    IntroductionOut,
    MemberOut,
    MembershipOut,
    OwnContactInfoOut,
    Page,
    PostIn,
    PostOut,
    SentOut,
)
from inmail.services import contact, groups, introductions, members, posts

router = APIRouter(
    prefix="/v1", tags=["free routes"], responses=problem_responses(401, 403, 404, 409, 422)
)


@router.post("/groups", status_code=201)
def create_group(
    body: GroupIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> GroupOut:
    group = groups.create_group(
        deps,
        owner_id=member_id,
        name=body.name,
        description=body.description,
        closed=body.closed,
        now=now,
        idempotency_key=key,
    )
    return render.group(group)


@router.post("/groups/{group_id}/join", responses={202: {"model": MembershipOut}})
def join_group(
    group_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now, response: Response
) -> MembershipOut:
    status = groups.join_group(deps, member_id=member_id, group_id=group_id, now=now)
    response.status_code = 202 if status == "pending" else 200
    return MembershipOut(group_id=group_id, member=member_id, status=status)  # type: ignore[arg-type]


@router.post("/groups/{group_id}/requests/{applicant_id}/approve")
def approve(
    group_id: str, applicant_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> MembershipOut:
    groups.approve_request(
        deps, owner_id=member_id, group_id=group_id, member_id=applicant_id, now=now
    )
    return MembershipOut(group_id=group_id, member=applicant_id, status="member")


@router.post("/groups/{group_id}/leave", status_code=204)
def leave(group_id: str, member_id: CurrentMember, deps: ServicesDep) -> None:
    groups.leave_group(deps, member_id=member_id, group_id=group_id)


@router.get("/groups/{group_id}/members")
def group_members(
    group_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> list[MemberOut]:
    ids = groups.group_members(deps, viewer=member_id, group_id=group_id)
    found = members.members_by_id(deps, ids, now=now)
    return [render.member(found[m]) for m in ids if m in found]


@router.post("/groups/{group_id}/messages", status_code=201, responses=problem_responses(429))
def group_message(
    group_id: str,
    body: GroupMessageIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> SentOut:
    sent = groups.send_group_message(
        deps,
        sender_id=member_id,
        group_id=group_id,
        to=body.to,
        body=body.body,
        now=now,
        idempotency_key=key,
    )
    return render.sent(sent)


@router.post("/posts", status_code=201)
def create_post(
    body: PostIn, member_id: CurrentMember, deps: ServicesDep, now: Now, key: IdempotencyKey = None
) -> PostOut:
    made = posts.create_post(
        deps, author_id=member_id, body=body.body, now=now, idempotency_key=key
    )
    return render.post(made)


@router.post("/posts/{post_id}/comments", status_code=201)
def comment(
    post_id: str,
    body: PostIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> PostOut:
    made = posts.create_post(
        deps, author_id=member_id, body=body.body, now=now, parent_id=post_id, idempotency_key=key
    )
    return render.post(made)


@router.get("/feed")
def feed(
    member_id: CurrentMember, deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PostOut]:
    found = posts.feed(deps, member_id=member_id, before=decode_cursor(cursor), limit=limit)
    return render.posts(found, limit)


@router.get("/me/mentions")
def my_mentions(
    member_id: CurrentMember, deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PostOut]:
    found = posts.mentions(deps, member_id=member_id, before=decode_cursor(cursor), limit=limit)
    return render.posts(found, limit)


@router.put("/me/contact-info")
def put_contact_info(
    body: ContactInfoIn, member_id: CurrentMember, deps: ServicesDep
) -> OwnContactInfoOut:
    changes = {
        field: None if value is None else (value["value"], value.get("visibility"))
        for field, value in body.model_dump(exclude_unset=True).items()
    }
    return render.own_contact(contact.put_contact_info(deps, member_id=member_id, changes=changes))


@router.get("/members/{other_id}/contact-info")
def contact_info(other_id: str, member_id: CurrentMember, deps: ServicesDep) -> ContactInfoOut:
    visible = contact.visible_contact_info(deps, viewer=member_id, member_id=other_id)
    return ContactInfoOut(**visible)


@router.get("/members/{other_id}/mutual-connections")
def mutual_connections(
    other_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> list[MemberOut]:
    ids = introductions.mutual_connections(deps, viewer=member_id, other=other_id)
    found = members.members_by_id(deps, ids, now=now)
    return [render.member(found[m]) for m in ids if m in found]


@router.post("/introductions", status_code=201)
def request_introduction(
    body: IntroductionIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> IntroductionOut:
    intro = introductions.request_introduction(
        deps,
        requester_id=member_id,
        target_id=body.target,
        via_id=body.via,
        note=body.note,
        now=now,
        idempotency_key=key,
    )
    return render.introduction(intro)


@router.post("/introductions/{intro_id}/forward")
def forward(
    intro_id: str,
    body: ForwardIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> IntroductionOut:
    made = introductions.forward(
        deps, member_id=member_id, intro_id=intro_id, note=body.note, now=now, idempotency_key=key
    )
    return render.introduction(made)


@router.post("/introductions/{intro_id}/decline")
def decline(
    intro_id: str, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> IntroductionOut:
    return render.introduction(
        introductions.decline(deps, member_id=member_id, intro_id=intro_id, now=now)
    )
