"""Community pages: groups and group messages, posts with comments and mentions, notifications.

Like the network pages, every form posts to one service and redirects (303) back with a
flash message; a refusal shows the page again with the service's own words (web.forms).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import DomainError
from inmail.domain.search import decode_position, encode_position
from inmail.services import (
    groups,
    inbox,
    posts,
    search,
)
from inmail.web.common import (
    Id,
    Short,
    Text,
    back,
    not_found,
    page,
    people_by_id,
    runtime_of,
)
from inmail.web.forms import FailedForm, OnceKey, on_failure
from inmail.web.session import CsrfChecked, WebMember, signed_in_member

router = APIRouter(include_in_schema=False)


# --- Groups ----------------------------------------------------------------------------


@router.get("/groups", response_class=HTMLResponse)
def groups_page(
    request: Request, member_id: WebMember, q: str = "", cursor: str = ""
) -> HTMLResponse:
    return _groups(request, member_id, q=q, cursor=cursor)


def _groups(
    request: Request,
    member_id: str,
    failed: FailedForm | None = None,
    q: str = "",
    cursor: str = "",
) -> HTMLResponse:
    rt = runtime_of(request)
    mine = groups.my_groups(rt.deps, member_id=member_id)
    directory = _directory(request, member_id, q, cursor)
    return page(request, "groups.html", mine=mine, failed=failed, **directory)


GROUPS_PER_PAGE = 20


def _directory(request: Request, member_id: str, q: str, cursor: str) -> dict[str, Any]:
    """The group directory: groups the search box finds (every group without one), a page."""
    rt = runtime_of(request)
    try:
        after = decode_position(cursor or None)
        found = search.find_groups(
            rt.deps, viewer=member_id, q=q.strip(), after=after, limit=GROUPS_PER_PAGE
        )
    except DomainError as refused:
        return {"q": q, "directory": [], "more": None, "search_error": refused.message}
    more = None
    if found.next is not None:
        more = "/groups?" + urlencode({"q": q, "cursor": encode_position(found.next)})
    return {"q": q, "directory": found.items, "more": more, "search_error": None}


def _groups_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _groups(request, signed_in_member(request), failed)


@router.get("/groups/open")
def open_group(
    request: Request, member_id: WebMember, group: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    if not group.strip():
        return back(request, "/groups", "Enter a group id to open it.", "error")
    return back(request, f"/groups/{quote(group.strip(), safe='')}")


@router.post("/groups", dependencies=[CsrfChecked])
@on_failure(_groups_again)
def create_group(
    request: Request,
    member_id: WebMember,
    name: Short = "",
    description: Text = "",
    closed: Annotated[str, Form(max_length=10)] = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    group = groups.create_group(
        rt.deps,
        owner_id=member_id,
        name=name,
        description=description,
        closed=closed == "on",
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return back(request, f"/groups/{group.id}", f"Group “{group.name}” created.")


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(request: Request, group_id: str, member_id: WebMember) -> HTMLResponse:
    try:
        return _group(request, member_id, group_id)
    except DomainError as error:
        return not_found(request, error)


def _group(
    request: Request, member_id: str, group_id: str, failed: FailedForm | None = None
) -> HTMLResponse:
    rt = runtime_of(request)
    view = groups.view_group(rt.deps, viewer=member_id, group_id=group_id)
    ids = [view.group.owner_id, *(view.members or ()), *view.pending]
    return page(
        request,
        "group.html",
        view=view,
        member_id=member_id,
        people=people_by_id(rt.deps, ids, rt.clock.now()),
        monthly_limit=rt.deps.group_message_monthly_limit,
        failed=failed,
    )


def _group_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _group(request, signed_in_member(request), request.path_params["group_id"], failed)


@router.post("/groups/{group_id}/join", dependencies=[CsrfChecked])
@on_failure(_group_again)
def join_group(request: Request, group_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    status = groups.join_group(rt.deps, member_id=member_id, group_id=group_id, now=rt.clock.now())
    text = (
        "Request sent: the owner approves new members of this group."
        if status == "pending"
        else "You joined the group."
    )
    return back(request, f"/groups/{group_id}", text)


@router.post("/groups/{group_id}/leave", dependencies=[CsrfChecked])
@on_failure(_group_again)
def leave_group(request: Request, group_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    groups.leave_group(rt.deps, member_id=member_id, group_id=group_id)
    return back(request, "/groups", "You left the group.")


@router.post("/groups/{group_id}/approve", dependencies=[CsrfChecked])
@on_failure(_group_again)
def approve_request(
    request: Request, group_id: str, member_id: WebMember, member: Id = ""
) -> Response:
    rt = runtime_of(request)
    groups.approve_request(
        rt.deps, owner_id=member_id, group_id=group_id, member_id=member, now=rt.clock.now()
    )
    return back(request, f"/groups/{group_id}", "Request approved: they are a member now.")


@router.post("/groups/{group_id}/messages", dependencies=[CsrfChecked])
@on_failure(_group_again)
def message_group_member(
    request: Request,
    group_id: str,
    member_id: WebMember,
    to: Id = "",
    body: Text = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    sent = groups.send_group_message(
        rt.deps,
        sender_id=member_id,
        group_id=group_id,
        to=to,
        body=body,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return back(request, f"/threads/{sent.thread_id}", "Group message sent for free.")


# --- Posts, comments and mentions ------------------------------------------------------


@router.get("/feed", response_class=HTMLResponse)
def feed_page(
    request: Request, member_id: WebMember, mention: Annotated[str, Query(max_length=64)] = ""
) -> HTMLResponse:
    """The feed; ``mention``: a handle to start the post with (compose's free route)."""
    draft = f"@{mention.strip().lstrip('@')} " if mention.strip().lstrip("@") else ""
    return _feed(request, member_id, draft=draft)


def _feed(
    request: Request, member_id: str, failed: FailedForm | None = None, draft: str = ""
) -> HTMLResponse:
    rt = runtime_of(request)
    found = [p for _, p in posts.feed(rt.deps, member_id=member_id, limit=50)]
    comments = posts.comments_on(rt.deps, post_ids=[p.id for p in found])
    shown = found + [c for replies in comments.values() for c in replies]
    ids = [p.author_id for p in shown] + [m for p in shown for m in p.mentions]
    return page(
        request,
        "feed.html",
        draft=draft,
        posts=found,
        comments=comments,
        people=people_by_id(rt.deps, ids, rt.clock.now()),
        member_id=member_id,
        failed=failed,
    )


def _feed_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _feed(request, signed_in_member(request), failed)


@router.get("/mentions", response_class=HTMLResponse)
def mentions_page(request: Request, member_id: WebMember) -> HTMLResponse:
    rt = runtime_of(request)
    found = [p for _, p in posts.mentions(rt.deps, member_id=member_id, limit=50)]
    ids = [p.author_id for p in found] + [m for p in found for m in p.mentions]
    return page(
        request,
        "network_mentions.html",
        posts=found,
        people=people_by_id(rt.deps, ids, rt.clock.now()),
    )


@router.post("/posts", dependencies=[CsrfChecked])
@on_failure(_feed_again)
def write_post(
    request: Request, member_id: WebMember, body: Text = "", once: OnceKey = None
) -> Response:
    rt = runtime_of(request)
    post = posts.create_post(
        rt.deps, author_id=member_id, body=body, now=rt.clock.now(), idempotency_key=once
    )
    return back(request, f"/feed#post-{post.id}", _posted("Posted", len(post.mentions)))


@router.post("/posts/{post_id}/comments", dependencies=[CsrfChecked])
@on_failure(_feed_again)
def write_comment(
    request: Request, post_id: str, member_id: WebMember, body: Text = "", once: OnceKey = None
) -> Response:
    rt = runtime_of(request)
    comment = posts.create_post(
        rt.deps,
        author_id=member_id,
        body=body,
        now=rt.clock.now(),
        parent_id=post_id,
        idempotency_key=once,
    )
    return back(request, f"/feed#post-{post_id}", _posted("Comment posted", len(comment.mentions)))


def _posted(what: str, mentioned: int) -> str:
    if not mentioned:
        return f"{what}."
    return f"{what}; {mentioned} mentioned member{'' if mentioned == 1 else 's'} notified."


# --- Notifications ---------------------------------------------------------------------


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, member_id: WebMember) -> HTMLResponse:
    rt = runtime_of(request)
    notices = inbox.list_notifications(rt.deps, member_id=member_id, now=rt.clock.now(), limit=100)
    links = {n.id: notification_link(n.reference) for n in notices}
    return page(request, "notifications.html", notices=notices, links=links)


_LINKS = {
    "thread": "/threads/{}",
    "post": "/mentions#post-{}",
    "group": "/groups/{}",
    "member": "/members/{}",
    "invitation": "/network#invitations",
    "introduction": "/network#introductions",
    "cycle": "/credits",
    "lot": "/credits",
    "renewal": "/credits",
    "charge": "/credits",
    "standing": "/standing",  # the response-rate floor's notices (services.reputation)
    "suspension": "/standing",  # a send ban and its appeal's outcome
}


def notification_link(reference: str) -> str | None:
    """Where a notification's reference (``kind:id``) is seen, if anywhere."""
    kind, _, ref_id = reference.partition(":")
    pattern = _LINKS.get(kind)
    return None if pattern is None or not ref_id else pattern.format(quote(ref_id, safe=""))
