"""The message coach's JSON shapes (``POST /v1/coach``), beside :mod:`inmail.api.schemas`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from inmail.api.fields import OMITTABLE, TextField
from inmail.api.schemas import In, MemberId
from inmail.domain import coach
from inmail.domain.coach import DraftField, Severity, TipCode


class CoachIn(In):
    """A draft to check. ``subject`` and ``body`` may be empty (a half-written draft);
    ``to``, when given, adds the tips about that recipient."""

    to: Annotated[MemberId | None, OMITTABLE] = None
    subject: Annotated[str, TextField(coach.DRAFT_SUBJECT)]
    body: Annotated[str, TextField(coach.DRAFT_BODY)]


class SpanOut(BaseModel):
    """Characters ``start`` to ``end`` (exclusive) of the subject or body, in code points."""

    field: DraftField
    start: int
    end: int


class TipOut(BaseModel):
    code: TipCode
    severity: Severity
    text: str = Field(description="what was found and why it matters, in a sentence or two")
    span: SpanOut | None = Field(description="the text the tip is about, if it is about text")

    @classmethod
    def of(cls, tip: coach.Tip) -> TipOut:
        span = tip.span
        where = None if span is None else SpanOut(field=span.field, start=span.start, end=span.end)
        return cls(code=tip.code, severity=tip.severity, text=tip.text, span=where)


class CoachOut(BaseModel):
    """The tips, warnings first, then suggestions, then information (docs/rules.md)."""

    tips: list[TipOut]
