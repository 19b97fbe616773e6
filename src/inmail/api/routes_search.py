"""Finding people and groups: ``GET /v1/members`` and ``GET /v1/groups`` (issue 10 §1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from inmail.api import render
from inmail.api.deps import CurrentMember, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from inmail.api.schemas import Page, Price
from inmail.api.search_schemas import FoundGroupOut, FoundMemberOut
from inmail.domain.search import (
    QUERY,
    QUERY_MAX,
    Position,
    decode_position,
    encode_position,
)
from inmail.services import search
from inmail.services.search import FoundGroup, FoundMember

router = APIRouter(prefix="/v1", tags=["search"], responses=problem_responses(401, 403, 422))

# The pattern is the domain's text rule (domain.search.QUERY), published here and checked
# there, so a refusal says what is wrong in words rather than by quoting a regex.
Words = Annotated[
    str,
    Query(
        max_length=QUERY_MAX,
        json_schema_extra={"pattern": QUERY.pattern},
        description="Words, each matching the start of a word (case and accents ignored); "
        "one line without control characters; the first 10 words count",
    ),
]
Degree = Annotated[
    int | None,
    Query(ge=1, le=3, description="Only members at this degree: 1, 2, or 3 (3rd or further)"),
]


@router.get("/members")
def find_members(
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    q: Words = "",
    company: Words = "",
    school: Words = "",
    interest: Words = "",
    degree: Degree = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FoundMemberOut]:
    """Members by name, handle, headline, company, school and interests: the handle first,
    then name matches, then the rest; each with the cheapest way to reach them."""
    page = search.find_members(
        deps,
        viewer=member_id,
        now=now,
        q=q,
        company=company,
        school=school,
        interest=interest,
        degree=degree,
        after=decode_position(cursor),
        limit=limit,
    )
    return Page(items=[_member(found) for found in page.items], next_cursor=_cursor(page.next))


@router.get("/groups")
def find_groups(
    member_id: CurrentMember,
    deps: ServicesDep,
    q: Words = "",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FoundGroupOut]:
    """Groups by name and description (name matches first), with their member count."""
    after = decode_position(cursor)
    page = search.find_groups(deps, viewer=member_id, q=q, after=after, limit=limit)
    return Page(items=[_group(found) for found in page.items], next_cursor=_cursor(page.next))


def _cursor(position: Position | None) -> str | None:
    return None if position is None else encode_position(position)


def _member(found: FoundMember) -> FoundMemberOut:
    way = found.way
    return FoundMemberOut(
        **render.member(found.member).model_dump(),
        degree=found.degree,
        channel=way.channel.value,
        cost_credits=way.cost_credits,
        allowed=way.allowed,
        reason=way.reason,
        overage_charge=None if way.overage_charge is None else Price.of(way.overage_charge),
    )


def _group(found: FoundGroup) -> FoundGroupOut:
    return FoundGroupOut(
        **render.group(found.group).model_dump(),
        member_count=found.member_count,
        membership=found.membership,  # type: ignore[arg-type]
    )
