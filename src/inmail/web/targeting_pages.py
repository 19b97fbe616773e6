"""Who is likely to answer: pasted handles or a search text, ranked with the reasons and cost.

A GET form (it writes nothing, so it needs no key and works without JavaScript); the
ranking is :mod:`inmail.services.targeting`'s, as ``POST /v1/me/targeting`` answers it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from inmail.domain.errors import DomainError, ValidationError
from inmail.domain.targeting import (
    CANDIDATES_MAX,
    QUERY_MAX,
    RankKey,
    TargetingRules,
    listed,
)
from inmail.services import targeting
from inmail.web.common import page, runtime_of
from inmail.web.session import WebMember

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
HANDLES_MAX_CHARS = 8000  # 200 handles of up to 30 characters, with "@" and separators
DEGREES = {1: "1st", 2: "2nd", 3: "3rd+"}
_SEPARATORS = re.compile(r"[\s,;]+")
# A cursor on this page is the rank key written out: tier.score.mutuals.member-id
_CURSOR = re.compile(r"(\d)\.(-?\d{1,9})\.(-?\d{1,9})\.([A-Za-z0-9_-]{1,40})")


@router.get("/targeting", response_class=HTMLResponse)
def targeting_page(
    request: Request,
    member_id: WebMember,
    handles: Annotated[str, Query(max_length=HANDLES_MAX_CHARS)] = "",
    q: Annotated[str, Query(max_length=400)] = "",
    after: Annotated[str, Query(max_length=80)] = "",
) -> HTMLResponse:
    """The form, and the ranking of the handles, the search, or (neither) the network."""
    rules = runtime_of(request).deps.targeting
    shown: dict[str, Any] = {
        "handles": handles,
        "q": q,
        "rules": rules,
        "points": points_table(rules),
    }
    try:
        ranked = _rank(request, member_id, handles, q.strip(), after)
    except DomainError as refused:
        return page(request, "targeting.html", 422, error=refused.message, ranked=None, **shown)
    return page(
        request,
        "targeting.html",
        error=None,
        ranked=ranked,
        degrees=DEGREES,
        next_after=_cursor(ranked.next_key),
        **shown,
    )


def points_table(rules: TargetingRules) -> list[tuple[str, str]]:
    """(fact, points) as this deployment scores them, for the page's "how it works"."""
    w = rules.weights
    return [
        ("a 1st-degree connection", f"{w.connection:+d}"),
        ("they replied to your InMail before", f"{w.replied_before:+d}"),
        (
            "each mutual connection",
            f"{w.mutual_connection:+d}, up to {w.mutual_connections_counted}",
        ),
        ("each group you share", f"{w.shared_group:+d}, up to {w.shared_groups_counted}"),
        ("the same company", f"{w.same_company:+d}"),
        ("the same school", f"{w.same_school:+d}"),
        (
            "each interest you share",
            f"{w.shared_interest:+d}, up to {w.shared_interests_counted}",
        ),
        ("an Open Profile", f"{w.open_profile:+d}"),
        ("answers most InMail they receive", f"{w.answers_most:+d}"),
        ("answers some InMail they receive", f"{w.answers_some:+d}"),
        ("rarely answers InMail", f"{w.rarely_answers:+d}"),
        (f"active in the last {rules.active_days} days", f"{w.recently_active:+d}"),
    ]


def _rank(
    request: Request, member_id: str, handles: str, q: str, after: str
) -> targeting.Targeting:
    rt = runtime_of(request)
    named = [h for h in _SEPARATORS.split(handles) if h.strip("@")]
    if len(named) > CANDIDATES_MAX:
        raise ValidationError(f"{len(named)} handles: at most {CANDIDATES_MAX} at a time")
    if len(q) > QUERY_MAX:
        raise ValidationError(f"the search text is at most {QUERY_MAX} characters")
    if named and q:
        raise ValidationError("Paste handles or type a search, not both.")
    candidates = None
    if named:
        ids, unknown = targeting.member_ids_by_handle(rt.deps, named)
        if unknown:
            handle = "the handle" if len(unknown) == 1 else "the handles"
            missing = listed([f"@{h}" for h in unknown], 10)
            raise ValidationError(f"No member has {handle} {missing}.")
        candidates = [i for i in ids if i != member_id]  # yourself: left out
        if not candidates:
            raise ValidationError("That is only you: add the handles of the people to rank.")
    return targeting.rank_candidates(
        rt.deps,
        member_id=member_id,
        now=rt.clock.now(),
        candidates=candidates,
        q=q or None,
        after=_key(after),
        limit=PAGE_SIZE,
    )


def _cursor(key: RankKey | None) -> str | None:
    if key is None:
        return None
    return f"{key.tier}.{key.minus_score}.{key.minus_mutuals}.{key.member_id}"


def _key(after: str) -> RankKey | None:
    if not after:
        return None
    found = _CURSOR.fullmatch(after)
    if found is None:
        raise ValidationError("That link to a next page is broken: rank again from the top.")
    tier, minus_score, minus_mutuals, member_id = found.groups()
    return RankKey(int(tier), int(minus_score), int(minus_mutuals), member_id)
