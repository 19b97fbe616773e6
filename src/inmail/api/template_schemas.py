"""The JSON shapes of a member's templates (API.md "Additions": ``/v1/me/templates``).

A template is ``{name, subject, body, variants}``: ``subject`` and ``body`` are variant A,
``variants.b`` the optional variant B (``{subject, body}``). Texts are template source:
placeholders such as ``{first_name}`` or ``{company|your team}``, ``{{`` and ``}}`` for
braces (domain/templates.py); each follows the text rule of the InMail it renders to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from inmail.api.fields import OMITTABLE, TextField
from inmail.api.schemas import (
    In,
    MemberId,
    ResponseCountsOut,
    TemplateStatsOut,
    VariantStatsOut,
)
from inmail.domain import templates
from inmail.domain.templates import Counts, Variant
from inmail.domain.text import TextRule
from inmail.services.templates import TemplateStats


@dataclass(frozen=True, slots=True)
class TemplateTextField:
    """A :class:`TextField` whose document also states the template grammar: besides the
    text rule's ``pattern``, ``allOf: [{pattern: GRAMMAR_PATTERN}]`` (JSON Schema has one
    ``pattern`` per schema). The service checks the grammar itself, to say where it breaks."""

    rule: TextRule

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return TextField(self.rule).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = TextField(self.rule).__get_pydantic_json_schema__(schema, handler)
        published["allOf"] = [{"pattern": templates.GRAMMAR_PATTERN}]
        return published


TemplateSubject = Annotated[str, TemplateTextField(templates.SUBJECT_SOURCE)]
TemplateBody = Annotated[str, TemplateTextField(templates.BODY_SOURCE)]
VariantName = Literal["a", "b"]


class LetterIn(In):
    subject: TemplateSubject
    body: TemplateBody


class VariantsIn(In):
    """The variants besides A (the template's own subject and body): only B for now."""

    b: Annotated[LetterIn | None, OMITTABLE] = None


class TemplateIn(In):
    """A whole template: a PUT replaces everything (leave ``variants.b`` out: no B)."""

    name: Annotated[str, TextField(templates.NAME)]
    subject: TemplateSubject = Field(description="variant A's subject (template source)")
    body: TemplateBody = Field(description="variant A's body (template source)")
    variants: Annotated[VariantsIn | None, OMITTABLE] = None


class LetterOut(BaseModel):
    subject: str
    body: str


class VariantsOut(BaseModel):
    b: LetterOut | None


class TemplateOut(BaseModel):
    id: str
    name: str
    subject: str
    body: str
    variants: VariantsOut
    created_at: datetime
    updated_at: datetime


class RenderIn(In):
    to: MemberId
    variant: Annotated[VariantName | None, OMITTABLE] = Field(
        default=None, description="a (the default) or b"
    )


class RenderedOut(BaseModel):
    """The template rendered for ``to``: the subject and body an InMail to them would carry."""

    subject: str
    body: str
    template_id: str
    variant: Variant
    to: str


def response_counts(counts: Counts) -> ResponseCountsOut:
    return ResponseCountsOut(
        sent=counts.sent,
        answered=counts.answered,
        declined=counts.declined,
        pending_under_30_days=counts.pending_under_30_days,
        no_response=counts.no_response,
        counted=counts.counted,
        response_rate=counts.response_rate,
    )


def template_stats(stats: TemplateStats) -> TemplateStatsOut:
    """One template's line of ``GET /v1/me/stats``: its totals and each variant's."""
    variants = [
        VariantStatsOut(variant=variant.value, **response_counts(counts).model_dump())
        for variant, counts in stats.variants
    ]
    return TemplateStatsOut(
        template_id=stats.template_id,
        name=stats.name,
        deleted=stats.deleted,
        total=response_counts(stats.total),
        variants=variants,
    )
