"""The Templates pages: the member's templates with their A/B variants, a preview rendered for
a chosen recipient, and what the compose page needs to start from a template.

Every form posts to one service and redirects (303) back with a flash message; a refusal
(an unknown placeholder, a text too long) shows the page again with the service's words
and what was typed (web.forms).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import DomainError, TemplatePlaceholderMissing
from inmail.domain.templates import PLACEHOLDERS, Letter, TemplateText, Variant
from inmail.services import members, templates
from inmail.services.context import Deps
from inmail.services.templates import Rendered, Template
from inmail.store.members import MemberRecord
from inmail.web.common import back, not_found, page, runtime_of
from inmail.web.forms import FailedForm, OnceKey, on_failure
from inmail.web.session import CsrfChecked, WebMember, signed_in_member

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# What each placeholder says, for the help on the page (docs/rules.md "Templates").
MEANINGS = {
    "first_name": "their first name (the first word of their name)",
    "last_name": "the rest of their name (none for a one-word name)",
    "company": "their company",
    "school": "their school",
    "headline": "their headline",
    "shared_group": "a group you are both members of (the first by name)",
    "shared_school": "their school, when it is also yours",
    "shared_interest": "an interest you both list (their first)",
    "mutual_connection": "a connection you share (the one you have known longest)",
    "my_name": "your own name",
}
assert set(MEANINGS) == set(PLACEHOLDERS)
Source = Annotated[str, Form(max_length=5000)]
Line = Annotated[str, Form(max_length=1000)]


def _text(subject: str, body: str, b_subject: str, b_body: str) -> TemplateText:
    """The form's texts; a B variant when either of its fields holds something."""
    b = Letter(b_subject, b_body) if (b_subject.strip() or b_body.strip()) else None
    return TemplateText(Letter(subject, body), b)


# ---- the list and a new template ----------------------------------------------------------


@router.get("/templates", response_class=HTMLResponse)
def templates_page(
    request: Request, member_id: WebMember, before: Annotated[int | None, Query(ge=1)] = None
) -> HTMLResponse:
    return _templates(request, member_id, before)


def _templates(
    request: Request, member_id: str, before: int | None = None, failed: FailedForm | None = None
) -> HTMLResponse:
    rt = runtime_of(request)
    found = templates.list_templates(rt.deps, owner_id=member_id, before=before, limit=PAGE_SIZE)
    older = found[-1][0] if len(found) == PAGE_SIZE else None
    return page(
        request,
        "templates.html",
        found=[t for _, t in found],
        older=older,
        newest=before is None,
        meanings=MEANINGS,
        failed=failed,
    )


def _templates_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _templates(request, signed_in_member(request), failed=failed)


@router.post("/templates", dependencies=[CsrfChecked])
@on_failure(_templates_again)
def create_template(
    request: Request,
    member_id: WebMember,
    name: Line = "",
    subject: Line = "",
    body: Source = "",
    b_subject: Line = "",
    b_body: Source = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    created = templates.create_template(
        rt.deps,
        owner_id=member_id,
        name=name,
        text=_text(subject, body, b_subject, b_body),
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return back(request, f"/templates/{created.id}", f"Template “{created.name}” saved.")


# ---- one template: edit, delete, preview --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    """One variant rendered for the chosen recipient, or what it lacks for them."""

    variant: Variant
    rendered: Rendered | None
    missing: tuple[tuple[str, str], ...] = ()  # (placeholder, field)
    refusal: str | None = None  # any other reason it cannot be rendered


def _previews(
    deps: Deps, member_id: str, template: Template, to: str, now: datetime
) -> list[Preview]:
    """Each variant the template has, rendered for ``to`` (see :class:`Preview`)."""
    variants = [Variant.A] + ([Variant.B] if template.text.b is not None else [])
    shown = []
    for variant in variants:
        try:
            rendered = templates.render_for(
                deps, owner_id=member_id, template_id=template.id, to=to, now=now, variant=variant
            )
            shown.append(Preview(variant, rendered))
        except TemplatePlaceholderMissing as missing:
            found = tuple((m.placeholder, m.field) for m in missing.missing)
            shown.append(Preview(variant, None, missing=found))
        except DomainError as refused:
            shown.append(Preview(variant, None, refusal=refused.message))
    return shown


@router.get("/templates/{template_id}", response_class=HTMLResponse)
def template_page(
    request: Request,
    template_id: str,
    member_id: WebMember,
    q: Annotated[str, Query(max_length=100)] = "",
    to: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    try:
        return _template(request, member_id, template_id, q=q, to=to)
    except DomainError as error:
        return not_found(request, error)


def _template(
    request: Request,
    member_id: str,
    template_id: str,
    *,
    q: str = "",
    to: str = "",
    failed: FailedForm | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    template = templates.get_template(rt.deps, owner_id=member_id, template_id=template_id)
    found: list[MemberRecord] = []
    if q:
        searched = members.search_members(rt.deps, text=q, now=now)
        found = [m for m in searched if m.id != member_id]
    context: dict[str, Any] = {"recipient": None, "previews": [], "preview_error": None}
    if to:
        try:
            context["recipient"] = members.get_member(rt.deps, to, now=now)
            context["previews"] = _previews(rt.deps, member_id, template, to, now)
        except DomainError as error:
            context["preview_error"] = error.message
    return page(
        request,
        "template.html",
        tpl=template,
        q=q,
        found=found,
        meanings=MEANINGS,
        failed=failed,
        **context,
    )


def _template_again(request: Request, failed: FailedForm) -> HTMLResponse:
    template_id = request.path_params["template_id"]
    return _template(request, signed_in_member(request), template_id, failed=failed)


@router.post("/templates/{template_id}", dependencies=[CsrfChecked])
@on_failure(_template_again)
def replace_template(
    request: Request,
    template_id: str,
    member_id: WebMember,
    name: Line = "",
    subject: Line = "",
    body: Source = "",
    b_subject: Line = "",
    b_body: Source = "",
) -> Response:
    rt = runtime_of(request)
    replaced = templates.replace_template(
        rt.deps,
        owner_id=member_id,
        template_id=template_id,
        name=name,
        text=_text(subject, body, b_subject, b_body),
        now=rt.clock.now(),
    )
    return back(request, f"/templates/{replaced.id}", f"Template “{replaced.name}” saved.")


@router.post("/templates/{template_id}/delete", dependencies=[CsrfChecked])
@on_failure(_template_again)
def delete_template(request: Request, template_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    templates.delete_template(
        rt.deps, owner_id=member_id, template_id=template_id, now=rt.clock.now()
    )
    return back(request, "/templates", "Template deleted. Its results stay on your Stats page.")


# ---- compose from a template ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FromTemplate:
    """What the compose page shows about templates for one recipient."""

    choices: list[tuple[str, str]]  # (value of the choice, label)
    chosen: str  # "<template id>" (variant A) or "<template id>:b"
    rendered: Rendered | None
    missing: tuple[tuple[str, str], ...] = ()
    refusal: str | None = None


def _choices(deps: Deps, member_id: str) -> list[tuple[str, str]]:
    found = templates.list_templates(deps, owner_id=member_id, limit=200)
    choices = []
    for _, template in found:
        if template.text.b is None:
            choices.append((template.id, template.name))
        else:
            choices.append((template.id, f"{template.name} · variant A"))
            choices.append((f"{template.id}:b", f"{template.name} · variant B"))
    return choices


def parse_choice(chosen: str) -> tuple[str, Variant]:
    """The template id and variant of a compose page's choice ``<id>`` or ``<id>:b``."""
    template_id, _, variant = chosen.partition(":")
    return template_id, Variant.B if variant == "b" else Variant.A


def from_template(
    deps: Deps, member_id: str, to: str, chosen: str, now: datetime
) -> FromTemplate | None:
    """The compose page's template chooser for ``to``, and ``chosen`` rendered for them; None
    when the member has no templates."""
    choices = _choices(deps, member_id)
    if not choices:
        return None
    if not chosen:
        return FromTemplate(choices, "", None)
    template_id, variant = parse_choice(chosen)
    try:
        rendered = templates.render_for(
            deps, owner_id=member_id, template_id=template_id, to=to, now=now, variant=variant
        )
    except TemplatePlaceholderMissing as missing:
        found = tuple((m.placeholder, m.field) for m in missing.missing)
        return FromTemplate(choices, chosen, None, missing=found)
    except DomainError as refused:
        return FromTemplate(choices, chosen, None, refusal=refused.message)
    return FromTemplate(choices, chosen, rendered)


def send_as(
    deps: Deps, member_id: str, to: str, letter: Letter, chosen: str, now: datetime
) -> dict[str, Any]:
    """How compose sends ``letter``: from the template (``template_id``, ``variant``) when it
    is exactly the template ``chosen`` rendered for ``to`` now, so that it counts in the
    template's stats; else as the member's own subject and body (they edited it)."""
    own: dict[str, Any] = {"subject": letter.subject, "body": letter.body}
    if not chosen:
        return own
    template_id, variant = parse_choice(chosen)
    try:
        rendered = templates.render_for(
            deps, owner_id=member_id, template_id=template_id, to=to, now=now, variant=variant
        )
    except DomainError:
        return own  # the template changed or went: what was typed is what is sent
    # Browsers send a text area's line breaks as CRLF (the template's own, saved from a form,
    # are CRLF too): line breaks of either kind are the same text.
    typed = Letter(letter.subject, _lines(letter.body))
    if typed != Letter(rendered.subject, _lines(rendered.body)):
        return own
    return {"template_id": template_id, "variant": variant}


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")
