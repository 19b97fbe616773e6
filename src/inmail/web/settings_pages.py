"""The member's settings page (/settings): who may reach them, overage, time zone, their
profile, contact info and API tokens; and the invitation link's page (/welcome/…) where a
member the operator created sets a password.

Each form posts to one service and redirects back (303) with a message; a refusal shows
the page again with the words next to the form and what was typed (web.forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import DomainError, ValidationError
from inmail.domain.network import CONTACT_FIELDS, DEFAULT_VISIBILITY
from inmail.services import auth, contact, invitation_links, members, settings, statements
from inmail.web.common import Short, Text, back, page, runtime_of
from inmail.web.forms import FailedForm, on_failure, refused_on
from inmail.web.network_pages import FIELD_LABELS, VISIBILITIES, put_contact_form
from inmail.web.session import CsrfChecked, WebMember, signed_in_member

router = APIRouter(include_in_schema=False)

Checkbox = Annotated[str, Form(max_length=10)]
Password = Annotated[str, Form(max_length=1000)]
# The zones a member picks from: every IANA name the system knows, read once.
TIME_ZONES = sorted(z for z in available_timezones() if "/" in z or z == "UTC")


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, member_id: WebMember) -> HTMLResponse:
    return _settings(request, member_id)


def _settings(request: Request, member_id: str, failed: FailedForm | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    stored = contact.own_contact_info(rt.deps, member_id=member_id)
    return page(
        request,
        "settings.html",
        member=members.get_member(rt.deps, member_id, now=now),
        current=settings.get_settings(rt.deps, member_id=member_id),
        paid=statements.get_credits(rt.deps, member_id=member_id, now=now).terms.is_paid,
        time_zones=TIME_ZONES,
        tokens=auth.list_tokens(rt.deps, member_id=member_id),
        contact={
            field: (stored[field][0], stored[field][1].value)
            if field in stored
            else ("", DEFAULT_VISIBILITY[field].value)
            for field in CONTACT_FIELDS
        },
        field_labels=FIELD_LABELS,
        visibilities=VISIBILITIES,
        failed=failed,
    )


def _settings_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _settings(request, signed_in_member(request), failed)


@router.post("/settings/reach", dependencies=[CsrfChecked])
@on_failure(_settings_again)
def save_reach(
    request: Request,
    member_id: WebMember,
    inmail_open: Checkbox = "",
    open_profile: Checkbox = "",
    group_messages_open: Checkbox = "",
) -> Response:
    changes = {
        "inmail_open": inmail_open == "on",
        "open_profile": open_profile == "on",
        "group_messages_open": group_messages_open == "on",
    }
    return _save(request, member_id, changes, "#reach", "Saved: who may write to you.")


@router.post("/settings/overage", dependencies=[CsrfChecked])
@on_failure(_settings_again)
def save_overage(
    request: Request,
    member_id: WebMember,
    auto_overage: Checkbox = "",
    overage_limit: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    changes = {"auto_overage": auto_overage == "on", "overage_limit_minor": _minor(overage_limit)}
    return _save(request, member_id, changes, "#overage", "Saved: overage.")


@router.post("/settings/time-zone", dependencies=[CsrfChecked])
@on_failure(_settings_again)
def save_time_zone(request: Request, member_id: WebMember, time_zone: Short = "") -> Response:
    changes = {"time_zone": time_zone.strip()}
    return _save(request, member_id, changes, "#time-zone", f"Times now show in {time_zone}.")


def _save(
    request: Request, member_id: str, changes: Mapping[str, object], anchor: str, text: str
) -> Response:
    rt = runtime_of(request)
    settings.update_settings(rt.deps, member_id=member_id, changes=changes, now=rt.clock.now())
    return back(request, "/settings" + anchor, text)


@router.post("/settings/profile", dependencies=[CsrfChecked])
@on_failure(_settings_again)
def save_profile(
    request: Request,
    member_id: WebMember,
    name: Short = "",
    headline: Short = "",
    company: Short = "",
    school: Short = "",
    interests: Text = "",
) -> Response:
    members.update_profile(
        runtime_of(request).deps,
        member_id=member_id,
        name=name,
        headline=headline,
        company=company,
        school=school,
        interests=typed_interests(interests),
    )
    return back(request, "/settings#profile", "Profile saved.")


@router.post("/settings/contact", dependencies=[CsrfChecked])
@on_failure(_settings_again)
def save_contact(
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
    return back(request, "/settings#contact", "Contact info saved.")


@router.post("/settings/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
@on_failure(_settings_again)
def revoke_token(request: Request, token_id: str, member_id: WebMember) -> Response:
    auth.revoke_token(runtime_of(request).deps, member_id=member_id, token_id=token_id)
    return back(request, "/settings#tokens", f"Token {token_id} revoked: it no longer works.")


def typed_interests(text: str) -> list[str]:
    """Interests typed one a line or separated by commas; blanks left out."""
    found = (i.strip() for line in text.splitlines() for i in line.split(","))
    return [i for i in found if i]


def _minor(text: str) -> int | None:
    """An amount like ``50`` or ``49.99`` in minor units; blank is no limit."""
    text = text.strip()
    if not text:
        return None
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or len(whole) > 9 or not (cents == "" or cents.isdigit()):
        raise ValidationError("the limit is an amount like 50 or 49.99", field="overage_limit")
    if len(cents) > 2:
        raise ValidationError("the limit has at most two decimals", field="overage_limit")
    return int(whole) * 100 + int((cents + "00")[:2])


# --- The invitation link: a member the operator created sets a password ----------------


@router.get("/welcome/{token}", response_class=HTMLResponse)
def welcome_page(request: Request, token: str) -> HTMLResponse:
    return _welcome(request, token)


def _welcome(request: Request, token: str, failed: FailedForm | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    try:
        holder = invitation_links.open_link(rt.deps, token=token, now=rt.clock.now())
    except DomainError as error:  # used, expired or unknown: a page that says which
        return refused_on(page(request, "welcome_refused.html", message=error.message), error)
    return page(request, "welcome.html", holder=holder, action=request.url.path, failed=failed)


def _welcome_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _welcome(request, request.path_params["token"], failed)


@router.post("/welcome/{token}", dependencies=[CsrfChecked])
@on_failure(_welcome_again)
def set_password(
    request: Request, token: str, password: Password = "", password_again: Password = ""
) -> Response:
    rt = runtime_of(request)
    # A used or expired link says so first: typing the password again would not help.
    invitation_links.open_link(rt.deps, token=token, now=rt.clock.now())
    if password != password_again:
        raise ValidationError("the two passwords differ: type the same one twice", field="password")
    member_id = invitation_links.set_password_with_link(
        rt.deps, token=token, password=password, now=rt.clock.now()
    )
    csrf = request.session.get("csrf")
    request.session.clear()  # a new session on sign-in, as /login does
    request.session.update({"member_id": member_id, "csrf": csrf})
    return back(request, "/inbox", "Your password is set and you are signed in. Welcome!")
