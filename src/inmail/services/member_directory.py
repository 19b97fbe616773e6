"""The operator's member list: sorted, searched (the People search) and paged.

A page is a page number, not a cursor: the operator jumps between orders and pages, and
a list of members changes slowly. Search hits are capped (SEARCH_CAP) before sorting.
"""

from __future__ import annotations

from dataclasses import dataclass

from inmail.domain.errors import ValidationError
from inmail.services import search
from inmail.services.context import Deps
from inmail.store import member_directory as directory_store

SORTS = ("name", "handle", "plan", "balance", "joined")
SEARCH_CAP = 500  # the most search hits the list sorts and pages through


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """One page of member ids in order; ``total`` is every member listed (or every hit,
    up to SEARCH_CAP, when searching)."""

    ids: list[str]
    page: int
    has_next: bool
    total: int


def member_page(
    deps: Deps, *, q: str, sort: str, descending: bool, page: int, per_page: int
) -> DirectoryPage:
    """Page ``page`` (from 1) of the members the operator lists, in the order ``sort``.

    ``q`` blank lists everyone; otherwise the search box's hits (handle, name, headline,
    company, school, interests; accents and case aside). Raises ValidationError for an
    unknown ``sort`` or a page below 1; a search text the search refuses finds no one.
    """
    if sort not in SORTS:
        raise ValidationError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}", field="sort")
    if page < 1:
        raise ValidationError("page numbers start at 1", field="page")
    offset = (page - 1) * per_page
    if q.strip():
        hits = _hits(deps, q.strip())
        with deps.db.read() as conn:
            ordered = directory_store.order_ids(conn, hits, sort=sort, descending=descending)
        shown = ordered[offset : offset + per_page]
        return DirectoryPage(shown, page, len(ordered) > offset + per_page, len(ordered))
    with deps.db.read() as conn:
        ids = directory_store.member_ids_page(
            conn, sort=sort, descending=descending, offset=offset, limit=per_page + 1
        )
        total = directory_store.count_members(conn)
    return DirectoryPage(ids[:per_page], page, len(ids) > per_page, total)


def _hits(deps: Deps, text: str) -> list[str]:
    try:
        return [r.id for r in search.search_records(deps, text=text, limit=SEARCH_CAP)]
    except ValidationError:  # control characters, too many words: nobody, said as such
        return []
