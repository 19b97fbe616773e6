"""Field types for request bodies whose checks and published schema come from one place.

- ``Annotated[str, TextField(rule)]``: a text checked by a domain :class:`TextRule`; the
  OpenAPI document states its ``minLength``, ``maxLength`` and ``pattern``.
- ``Annotated[X | None, OMITTABLE]``: a field that may be left out (its default, ``None``,
  means "keep what is there") but not sent as ``null``; the document does not say nullable.
- ``INTEGRAL``: a JSON integer. Strict: ``true`` and ``"1"`` are not numbers; but ``1.0`` is
  an integer in JSON Schema's sense (a number without a fractional part), so it is 1.
- ``Time``: an ISO 8601 / RFC 3339 time with an offset. Strict validation reads no
  datetime from JSON (JSON has none), so times are parsed here, and only from strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from inmail.domain.errors import ValidationError
from inmail.domain.text import TextRule


@dataclass(frozen=True, slots=True)
class TextField:
    """Metadata: the domain's text ``rule`` checks the value and shapes its JSON Schema."""

    rule: TextRule

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        string = core_schema.str_schema(
            min_length=self.rule.min_length, max_length=self.rule.max_length
        )
        return core_schema.with_info_after_validator_function(self._check, string)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = handler(schema)
        published["pattern"] = self.rule.pattern
        return published

    def _check(self, value: str, info: core_schema.ValidationInfo) -> str:
        try:
            return self.rule.check(value, field=info.field_name or "text")
        except ValidationError as refused:
            raise PydanticCustomError("text", refused.message) from None


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("not_null", "cannot be null (leave the field out to keep it)")
    return value


@dataclass(frozen=True, slots=True)
class _Omittable:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(_refuse_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = handler(schema)
        branches = [b for b in published.get("anyOf", []) if b != {"type": "null"}]
        if len(branches) == 1:
            published.pop("anyOf")
            published.update(branches[0])
        return published


OMITTABLE = _Omittable()


def _integral_float(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After an int's constraints: ``Annotated[int, Field(ge=0), INTEGRAL]`` (so the document
# still shows ``minimum``).
INTEGRAL = BeforeValidator(_integral_float)

# RFC 3339 as JSON Schema's "date-time" reads it: a date, "T", a time and an offset.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _parse_time(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value  # null where allowed; a datetime from Python callers
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise PydanticCustomError(
            "time", "a time is an ISO 8601 string with an offset, like 2026-01-31T09:00:00Z"
        )
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:
        raise PydanticCustomError("time", "that date or time does not exist") from None


Time = Annotated[datetime, BeforeValidator(_parse_time)]
