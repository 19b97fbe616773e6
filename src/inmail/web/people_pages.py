"""The People page: find members, see what reaching each costs, write to one or pick several.

The search form and the results are plain GET forms: picking people for a bulk
send submits ``/bulk?to=<id>&to=<id>...`` without any script.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from inmail.domain.errors import DomainError
from inmail.domain.search import DEGREE_LABELS, decode_position, encode_position, parse_degree
from inmail.services import search
from inmail.services.search import FoundMember, MemberPage
from inmail.web.common import page, runtime_of, templates
from inmail.web.session import WebMember

router = APIRouter(include_in_schema=False)

PER_PAGE = 20
# How a free way is named on a result (the channel of the quote).
ROUTE_LABELS = {
    "message": "message: a 1st-degree connection",
    "conversation": "in your open conversation",
    "group_message": "group message: you share a group",
    "open_profile": "InMail: their profile is open",
}
templates.env.globals.update(degree_labels=DEGREE_LABELS, route_labels=ROUTE_LABELS)
FILTERS = ("q", "company", "school", "interest", "degree")


@router.get("/people", response_class=HTMLResponse)
def people_page(
    request: Request,
    member_id: WebMember,
    q: str = "",
    company: str = "",
    school: str = "",
    interest: str = "",
    degree: str = "",
    cursor: str = "",
) -> HTMLResponse:
    given = {"q": q, "company": company, "school": school, "interest": interest, "degree": degree}
    asked = {k: v.strip() for k, v in given.items()}  # a blank box is no search
    try:
        found = _find(request, member_id, asked, cursor)
    except DomainError as refused:
        return page(request, "people.html", 422, asked=asked, found=None, error=refused.message)
    more = None
    if found.next is not None:
        kept = {k: v for k, v in asked.items() if v}
        more = "/people?" + urlencode(kept | {"cursor": encode_position(found.next)})
    return page(request, "people.html", asked=asked, found=found.items, more=more, error=None)


def recipients_matching(request: Request, member_id: str, q: str) -> list[FoundMember]:
    """The compose page's search box: the first members ``q`` finds, each with its cost;
    no one for a blank search or one the search refuses."""
    if not q.strip():
        return []
    asked = dict.fromkeys(FILTERS, "") | {"q": q.strip()}
    try:
        return _find(request, member_id, asked, "").items
    except DomainError:
        return []


def _find(request: Request, member_id: str, asked: dict[str, str], cursor: str) -> MemberPage:
    rt = runtime_of(request)
    return search.find_members(
        rt.deps,
        viewer=member_id,
        now=rt.clock.now(),
        q=asked["q"],
        company=asked["company"],
        school=asked["school"],
        interest=asked["interest"],
        degree=parse_degree(asked["degree"]),
        after=decode_position(cursor or None),
        limit=PER_PAGE,
    )
