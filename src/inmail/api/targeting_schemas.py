"""The JSON shapes of ``POST /v1/me/targeting`` (API.md "Additions", docs/targeting.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from inmail.api.fields import INTEGRAL, OMITTABLE, TextField
from inmail.api.schemas import In, MemberId, MemberViewOut, _no_default_null
from inmail.domain import targeting

CursorText = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+={0,2}$")
]
Candidates = Annotated[list[MemberId], Field(min_length=1, max_length=targeting.CANDIDATES_MAX)]


def _one_pool(schema: dict[str, Any]) -> None:
    """``candidates`` or ``q``, never both: the document says so, as the server does."""
    _no_default_null(schema)
    schema["not"] = {"required": ["candidates", "q"]}


class TargetingIn(In):
    """Whom to rank: ``candidates`` (member ids, at most 200, duplicates merged) or ``q``
    (a search text), not both; neither ranks your 2nd-degree network. ``limit`` (1-200,
    default 50) and ``cursor`` page the ranking like any list."""

    model_config = ConfigDict(json_schema_extra=_one_pool)

    candidates: Annotated[Candidates | None, OMITTABLE] = None
    q: Annotated[str | None, TextField(targeting.QUERY), OMITTABLE] = None
    limit: Annotated[int, Field(ge=1, le=200), INTEGRAL] = targeting.DEFAULT_LIMIT
    cursor: Annotated[CursorText | None, OMITTABLE] = Field(
        default=None, description="next_cursor from the previous page, with the same body"
    )


class TargetOut(BaseModel):
    """One ranked candidate: how to reach them and why they rank where they do."""

    member: MemberViewOut
    score: int = Field(description="the sum of the points docs/targeting.md lists")
    reasons: list[str] = Field(description="each fact that placed them, as a sentence")
    channel: Literal[
        "message", "inmail", "open_profile", "group_message", "conversation", "introduction"
    ] = Field(description="the cost preview's cheapest channel (InMail when none reaches them)")
    cost_credits: int
    reachable: bool = Field(description="false: no channel reaches them (the reasons say why)")
    answers: Literal["most", "some", "rarely", "not_enough_history"] = Field(
        description="how often they answer InMail, as a bucket only"
    )
