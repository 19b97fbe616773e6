"""A member's message templates: keep, list, replace, delete, and render for a recipient."""

from __future__ import annotations

from fastapi import APIRouter

from inmail.api.deps import CurrentMember, IdempotencyKey, IdPath, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, next_cursor
from inmail.api.schemas import Page
from inmail.api.template_schemas import (
    LetterOut,
    RenderedOut,
    RenderIn,
    TemplateIn,
    TemplateOut,
    VariantsOut,
)
from inmail.domain.templates import Letter, TemplateText, Variant
from inmail.services import templates
from inmail.services.templates import Template

router = APIRouter(
    prefix="/v1/me/templates", tags=["templates"], responses=problem_responses(401, 403, 422)
)


def _text(body: TemplateIn) -> TemplateText:
    b = body.variants.b if body.variants is not None else None
    return TemplateText(
        Letter(body.subject, body.body), None if b is None else Letter(b.subject, b.body)
    )


def _out(template: Template) -> TemplateOut:
    a, b = template.text.a, template.text.b
    return TemplateOut(
        id=template.id,
        name=template.name,
        subject=a.subject,
        body=a.body,
        variants=VariantsOut(b=None if b is None else LetterOut(subject=b.subject, body=b.body)),
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


@router.post("", status_code=201)
def create_template(
    body: TemplateIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> TemplateOut:
    """A new template. An unknown placeholder or a stray brace is a 422 listing each in
    ``errors`` with its ``field``, ``offset``, ``line`` and ``column``."""
    created = templates.create_template(
        deps, owner_id=member_id, name=body.name, text=_text(body), now=now, idempotency_key=key
    )
    return _out(created)


@router.get("")
def list_templates(
    member_id: CurrentMember, deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[TemplateOut]:
    """The member's templates, newest first."""
    found = templates.list_templates(
        deps, owner_id=member_id, before=decode_cursor(cursor), limit=limit
    )
    after = next_cursor([position for position, _ in found], limit)
    return Page(items=[_out(t) for _, t in found], next_cursor=after)


@router.get("/{template_id}", responses=problem_responses(404))
def read_template(template_id: IdPath, member_id: CurrentMember, deps: ServicesDep) -> TemplateOut:
    return _out(templates.get_template(deps, owner_id=member_id, template_id=template_id))


@router.put("/{template_id}", responses=problem_responses(404))
def replace_template(
    template_id: IdPath, body: TemplateIn, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> TemplateOut:
    """Everything replaced; InMails already sent keep the text they were sent with."""
    replaced = templates.replace_template(
        deps, owner_id=member_id, template_id=template_id, name=body.name, text=_text(body), now=now
    )
    return _out(replaced)


@router.delete("/{template_id}", status_code=204, responses=problem_responses(404))
def delete_template(
    template_id: IdPath, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> None:
    """Gone from the list, no longer sendable; its InMails still count in the stats."""
    templates.delete_template(deps, owner_id=member_id, template_id=template_id, now=now)


@router.post("/{template_id}/render", responses=problem_responses(404))
def render_template(
    template_id: IdPath, body: RenderIn, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> RenderedOut:
    """The subject and body an InMail to ``to`` would carry; 422
    ``template-placeholder-missing`` lists in ``missing`` each placeholder with no value and
    no fallback (and the field it is in), and names the ``recipient``."""
    rendered = templates.render_for(
        deps,
        owner_id=member_id,
        template_id=template_id,
        to=body.to,
        now=now,
        variant=Variant(body.variant or "a"),
    )
    return RenderedOut(
        subject=rendered.subject,
        body=rendered.body,
        template_id=rendered.template_id,
        variant=rendered.variant,
        to=rendered.recipient_id,
    )
