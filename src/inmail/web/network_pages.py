"""Network pages: profiles, contact info, invitations, introductions, groups, posts, notifications.

Every page reads through the services and every form posts to one of them, then redirects
(303) back with a flash message; a refusal shows the page again with the service's own
words next to the form (see web.forms).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import DomainError
from inmail.domain.network import CONTACT_FIELDS, DEFAULT_VISIBILITY, Visibility
from inmail.services import (
    contact,
    inmail,
    introductions,
    members,
    network,
)
from inmail.services.context import Deps
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


DEGREES = {0: "you", 1: "1st", 2: "2nd", 3: "3rd+"}
VISIBILITIES = (
    (Visibility.ONLY_ME, "Only me"),
    (Visibility.CONNECTIONS, "My connections (1st degree)"),
    (Visibility.NETWORK, "My network (1st and 2nd degree)"),
    (Visibility.EVERYONE, "Everyone"),
)
FIELD_LABELS = {"email": "E-mail", "phone": "Phone", "website": "Website"}


# --- My network: profile, contact info, invitations, introductions to make ---------------


@router.get("/network", response_class=HTMLResponse)
def network_page(
    request: Request, member_id: WebMember, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    return _network(request, member_id, q)


def _network(
    request: Request, member_id: str, q: str = "", failed: FailedForm | None = None
) -> HTMLResponse:
    rt = runtime_of(request)
    invitations = network.pending_invitations(rt.deps, member_id=member_id)
    to_answer = introductions.introductions_to_answer(rt.deps, member_id=member_id)
    connections = introductions.connections(rt.deps, member_id=member_id)
    found = (
        [
            m
            for m in members.search_members(rt.deps, text=q, now=rt.clock.now(), viewer=member_id)
            if m.id != member_id
        ]
        if q
        else []
    )
    ids = [i.from_id for i in invitations] + [i.to_id for i in invitations] + connections
    ids += [x.requester_id for x in to_answer] + [x.target_id for x in to_answer]
    return page(
        request,
        "network_home.html",
        member_id=member_id,
        contact=_my_contact_info(rt.deps, member_id),
        field_labels=FIELD_LABELS,
        visibilities=VISIBILITIES,
        invitations=invitations,
        to_answer=to_answer,
        connections=connections,
        people=people_by_id(rt.deps, ids, rt.clock.now()),
        q=q,
        found=found,
        failed=failed,
    )


def _network_again(request: Request, failed: FailedForm) -> HTMLResponse:
    # An invitation with a note was sent from the search's results: show them again.
    q = failed.values.get("q", "")[:100]
    return _network(request, signed_in_member(request), q, failed=failed)


def _my_contact_info(deps: Deps, member_id: str) -> dict[str, tuple[str, str]]:
    """Each field's (value, visibility), with the default visibility for unset fields."""
    # An empty change set stores nothing and returns every field with its visibility.
    stored = contact.own_contact_info(deps, member_id=member_id)
    return {
        field: (stored[field][0], stored[field][1].value)
        if field in stored
        else ("", DEFAULT_VISIBILITY[field].value)
        for field in CONTACT_FIELDS
    }


@router.post("/network/contact", dependencies=[CsrfChecked])
@on_failure(_network_again)
def save_contact_info(
    request: Request,
    member_id: WebMember,
    email: Short = "",
    email_visibility: Short = "",
    phone: Short = "",
    phone_visibility: Short = "",
    website: Short = "",
    website_visibility: Short = "",
) -> Response:
    given = {
        "email": (email, email_visibility),
        "phone": (phone, phone_visibility),
        "website": (website, website_visibility),
    }
    put_contact_form(request, member_id, given)
    return back(request, "/network#contact", "Contact info saved.")


def put_contact_form(request: Request, member_id: str, given: dict[str, tuple[str, str]]) -> None:
    """Save the contact form's fields ((value, visibility) by field; an empty value removes
    the field, an empty visibility is None: the service decides), as the network and settings
    pages both post them."""
    changes = {
        field: (value, visibility or None) if value.strip() else None
        for field, (value, visibility) in given.items()
    }
    contact.put_contact_info(runtime_of(request).deps, member_id=member_id, changes=changes)


@router.post("/invitations", dependencies=[CsrfChecked])
@on_failure(_network_again)
def invite_from_network(
    request: Request, member_id: WebMember, to: Id = "", note: Short = "", once: OnceKey = None
) -> Response:
    return _invite(request, member_id, to.strip(), note, "/network#invite", once)


@router.post("/members/{other_id}/invite", dependencies=[CsrfChecked])
@on_failure(lambda request, failed: _profile_again(request, failed))
def invite_from_profile(
    request: Request, other_id: str, member_id: WebMember, note: Short = "", once: OnceKey = None
) -> Response:
    return _invite(request, member_id, other_id, note, f"/members/{other_id}", once)


def _invite(
    request: Request, member_id: str, to: str, note: str, path: str, once: str | None
) -> Response:
    rt = runtime_of(request)
    network.invite(
        rt.deps, from_id=member_id, to=to, note=note, now=rt.clock.now(), idempotency_key=once
    )
    return back(request, path, "Invitation sent.")


@router.post("/invitations/{invitation_id}/accept", dependencies=[CsrfChecked])
@on_failure(_network_again)
def accept_invitation(request: Request, invitation_id: str, member_id: WebMember) -> Response:
    return _answer(request, member_id, invitation_id, accept=True)


@router.post("/invitations/{invitation_id}/decline", dependencies=[CsrfChecked])
@on_failure(_network_again)
def decline_invitation(request: Request, invitation_id: str, member_id: WebMember) -> Response:
    return _answer(request, member_id, invitation_id, accept=False)


def _answer(request: Request, member_id: str, invitation_id: str, *, accept: bool) -> Response:
    rt = runtime_of(request)
    network.answer_invitation(
        rt.deps,
        member_id=member_id,
        invitation_id=invitation_id,
        accept=accept,
        now=rt.clock.now(),
    )
    text = "Invitation accepted: you are connected." if accept else "Invitation declined."
    return back(request, "/network#invitations", text)


@router.post("/introductions/{intro_id}/forward", dependencies=[CsrfChecked])
@on_failure(_network_again)
def forward_introduction(
    request: Request, intro_id: str, member_id: WebMember, note: Text = "", once: OnceKey = None
) -> Response:
    rt = runtime_of(request)
    introductions.forward(
        rt.deps,
        member_id=member_id,
        intro_id=intro_id,
        note=note.strip() or None,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return back(
        request, "/network#introductions", "Introduction made: a free conversation is open."
    )


@router.post("/introductions/{intro_id}/decline", dependencies=[CsrfChecked])
@on_failure(_network_again)
def decline_introduction(request: Request, intro_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    introductions.decline(rt.deps, member_id=member_id, intro_id=intro_id, now=rt.clock.now())
    return back(request, "/network#introductions", "Introduction declined.")


# --- A member's profile, as the viewer sees it -----------------------------------------


@router.get("/members/{other_id}", response_class=HTMLResponse)
def profile_page(request: Request, other_id: str, member_id: WebMember) -> HTMLResponse:
    try:
        return _profile(request, member_id, other_id)
    except DomainError as error:
        return not_found(request, error)


def _profile(
    request: Request, member_id: str, other_id: str, failed: FailedForm | None = None
) -> HTMLResponse:
    rt = runtime_of(request)
    member = members.get_member(rt.deps, other_id, now=rt.clock.now())
    is_self = other_id == member_id
    degree = 0 if is_self else network.degree_between(rt.deps, viewer=member_id, other=other_id)
    mutual = introductions.mutual_connections(rt.deps, viewer=member_id, other=other_id)
    return page(
        request,
        "profile.html",
        member=member,
        is_self=is_self,
        degree=degree,
        degree_label=DEGREES[degree],
        contact=contact.visible_contact_info(rt.deps, viewer=member_id, member_id=other_id),
        field_labels=FIELD_LABELS,
        mutual=mutual,
        people=people_by_id(rt.deps, mutual, rt.clock.now()),
        you_blocked=not is_self
        and network.you_blocked(rt.deps, member_id=member_id, other=other_id),
        failed=failed,
    )


def _profile_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _profile(request, signed_in_member(request), request.path_params["other_id"], failed)


@router.post("/members/{other_id}/introductions", dependencies=[CsrfChecked])
@on_failure(_profile_again)
def ask_for_introduction(
    request: Request,
    other_id: str,
    member_id: WebMember,
    via: Id = "",
    note: Text = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    introductions.request_introduction(
        rt.deps,
        requester_id=member_id,
        target_id=other_id,
        via_id=via,
        note=note,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return back(
        request, f"/members/{other_id}", "Introduction requested: you will be told the answer."
    )


@router.post("/members/{other_id}/block", dependencies=[CsrfChecked])
@on_failure(_profile_again)
def block_member(request: Request, other_id: str, member_id: WebMember) -> Response:
    return _block(request, member_id, other_id, on=True)


@router.post("/members/{other_id}/unblock", dependencies=[CsrfChecked])
@on_failure(_profile_again)
def unblock_member(request: Request, other_id: str, member_id: WebMember) -> Response:
    return _block(request, member_id, other_id, on=False)


def _block(request: Request, member_id: str, other_id: str, *, on: bool) -> Response:
    rt = runtime_of(request)
    inmail.block_member(rt.deps, member_id=member_id, other=other_id, now=rt.clock.now(), on=on)
    text = (
        "Blocked: this member can no longer InMail, message or invite you." if on else "Unblocked."
    )
    return back(request, f"/members/{other_id}", text)
