"""Message templates: the placeholder grammar, rendering for one recipient, and A/B variants
(SPEC §8 "Personalization", §5 response rate per template; issue 10 §2).

The grammar, in a template's subject and body:

- ``{name}`` is a placeholder, ``name`` one of :data:`PLACEHOLDERS` (lower case, no spaces);
- ``{name|fallback}`` renders ``fallback`` when the recipient has no value for ``name``.
  A fallback is any text without braces or line breaks; it may be empty
  (``{company|}``: the placeholder is simply left out when there is no value);
- ``{{`` and ``}}`` are a literal ``{`` and ``}``;
- anything else with a brace is an error, reported when the template is saved
  (:func:`parse` lists every one, each with its position).

Rendering (:func:`render`) takes the values for one recipient. A placeholder with no
value (none, or only whitespace) and no fallback makes the render fail
(:class:`TemplatePlaceholderMissing` names each one, the field it is in, and the
recipient); rendered text must then hold to the subject and body limits of any InMail
(:func:`inmail.domain.messaging.check_text`).

Pure: no I/O; the services gather the values (:mod:`inmail.services.templates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inmail.domain.errors import TemplatePlaceholderMissing, TemplateSyntaxError, ValidationError
from inmail.domain.messaging import BODY, RESPONSE_WINDOW, SUBJECT, check_text
from inmail.domain.text import TextRule

PLACEHOLDERS = (
    "first_name",
    "last_name",
    "company",
    "school",
    "headline",
    "shared_group",
    "shared_school",
    "shared_interest",
    "mutual_connection",
    "my_name",
)
# The grammar as one anchored regular expression (ECMA-262 and Python read it alike), for the
# API's published schema: literal text, escaped braces, known placeholders. parse() and it
# accept the same texts (tests/unit/test_template_rules.py checks it).
GRAMMAR_PATTERN = r"^(?:[^{}]|\{\{|\}\}|\{(?:" + "|".join(PLACEHOLDERS) + r")(?:\|[^{}\r\n]*)?\})*$"
NAME_MAX = 200
NAME = TextRule(NAME_MAX)  # a template's own name, for its owner
# The source of a template's subject and body: the limits of the InMail it renders to.
SUBJECT_SOURCE = SUBJECT
BODY_SOURCE = BODY


class Variant(StrEnum):
    """A template's variants: A is its subject and body, B the optional second version."""

    A = "a"
    B = "b"


@dataclass(frozen=True, slots=True)
class Placeholder:
    """``{name}`` or ``{name|fallback}`` at ``offset`` (code points into its field)."""

    name: str
    fallback: str | None
    offset: int


Part = str | Placeholder  # a run of literal text (escapes already undone), or a placeholder


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a template's text, where it is: ``offset`` counts code points from
    the start of ``field``; ``line`` and ``column`` count from 1."""

    field: str
    offset: int
    line: int
    column: int
    message: str

    def describe(self) -> str:
        return f"{self.field}, line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A field's text as parts, or the problems that keep it from being a template."""

    parts: tuple[Part, ...]
    problems: tuple[Problem, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))


def _position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both from 1, of the code point at ``offset``."""
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def _problem(field: str, text: str, offset: int, message: str) -> Problem:
    line, column = _position(text, offset)
    return Problem(field, offset, line, column, message)


def _unknown(name: str) -> str:
    shown = "{" + name + "}"
    guess = name.strip().lower()
    if guess in PLACEHOLDERS:
        return f"unknown placeholder {shown}: did you mean {{{guess}}}?"
    if not name:
        return "an empty placeholder {}: write a name such as {first_name}, or {{}} for braces"
    return f"unknown placeholder {shown}: the placeholders are " + ", ".join(
        "{" + p + "}" for p in PLACEHOLDERS
    )


_UNCLOSED = "a '{' that opens no placeholder: close it with '}' or write '{{' for a brace"
_STRAY = "a '}' that closes nothing: write '}}' for a brace"


def parse(text: str, *, field: str) -> Parsed:
    """``text`` as literal runs and placeholders, with every problem found (none: valid).

    A ``{`` must close with ``}`` on the same line, before any other ``{``; the name
    inside must be one of :data:`PLACEHOLDERS`. Scanning goes on after a problem, so
    one save reports them all.
    """
    parts: list[Part] = []
    problems: list[Problem] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("{{", "}}"):
            literal.append(pair[0])
            i += 2
        elif text[i] == "}":
            problems.append(_problem(field, text, i, _STRAY))
            i += 1
        elif text[i] != "{":
            literal.append(text[i])
            i += 1
        else:
            end = _closing(text, i)
            if end is None:
                problems.append(_problem(field, text, i, _UNCLOSED))
                i += 1
                continue
            name, bar, fallback = text[i + 1 : end].partition("|")
            if name in PLACEHOLDERS:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(Placeholder(name, fallback if bar else None, i))
            else:
                problems.append(_problem(field, text, i, _unknown(name)))
            i = end + 1
    if literal:
        parts.append("".join(literal))
    return Parsed(tuple(parts), tuple(problems))


def _closing(text: str, start: int) -> int | None:
    """Where the ``}`` closing the ``{`` at ``start`` is; None if a ``{`` or a line break
    comes first (or the text ends)."""
    for j in range(start + 1, len(text)):
        if text[j] == "}":
            return j
        if text[j] in "{\n\r":
            return None
    return None


def escape(text: str) -> str:
    """``text`` as a template that renders to exactly ``text`` (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True, slots=True)
class Letter:
    """One variant's subject and body, as the member wrote them (template source)."""

    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class TemplateText:
    """What a template says: variant A, and B or None."""

    a: Letter
    b: Letter | None = None

    def variant(self, variant: Variant) -> Letter:
        """The subject and body of ``variant``; ValidationError if the template has no B."""
        if variant == Variant.A:
            return self.a
        if self.b is None:
            raise ValidationError("this template has no variant b", field="variant")
        return self.b


def _fields(text: TemplateText) -> list[tuple[str, str]]:
    fields = [("subject", text.a.subject), ("body", text.a.body)]
    if text.b is not None:
        fields += [("variants.b.subject", text.b.subject), ("variants.b.body", text.b.body)]
    return fields


def check_template(name: str, text: TemplateText) -> None:
    """What a template must be to be saved: a name, texts within the InMail limits, and
    nothing but known placeholders and escaped braces in them.

    Raises ValidationError (a text rule, naming the field) or TemplateSyntaxError listing
    every problem of every field with its position.
    """
    NAME.check(name, field="name")
    for field, source in _fields(text):
        rule = SUBJECT_SOURCE if field.endswith("subject") else BODY_SOURCE
        rule.check(source, field=field)
    problems = [p for field, source in _fields(text) for p in parse(source, field=field).problems]
    if problems:
        raise TemplateSyntaxError(problems)


@dataclass(frozen=True, slots=True)
class Missing:
    """A placeholder with no value and no fallback, and the field it is in."""

    placeholder: str
    field: str


def fill(parts: tuple[Part, ...], values: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """The text for these values, and the placeholders that had no value and no fallback
    (each once, in order). A value that is empty or only whitespace is no value."""
    out: list[str] = []
    missing: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.name, "").strip()
        if value:
            out.append(value)
        elif part.fallback is not None:
            out.append(part.fallback)
        elif part.name not in missing:
            missing.append(part.name)
    return "".join(out), tuple(missing)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a render is for, as errors name them."""

    id: str
    handle: str


def render(letter: Letter, values: Mapping[str, str], recipient: Recipient) -> Letter:
    """``letter`` (a saved, valid variant) rendered with one recipient's ``values``.

    Raises TemplatePlaceholderMissing naming every placeholder without value or
    fallback (with its field) and the recipient; then ValidationError when the
    rendered subject or body breaks the InMail limits (too long, or blank).
    """
    subject, subject_missing = fill(parse(letter.subject, field="subject").parts, values)
    body, body_missing = fill(parse(letter.body, field="body").parts, values)
    missing = [Missing(p, "subject") for p in subject_missing]
    missing += [Missing(p, "body") for p in body_missing]
    if missing:
        raise TemplatePlaceholderMissing(
            _missing_message(missing, recipient), missing, recipient.id
        )
    try:
        check_text(subject, body)
    except ValidationError as refused:
        raise ValidationError(
            f"rendered for @{recipient.handle}, the {refused.message}", field=refused.field
        ) from None
    return Letter(subject, body)


def _missing_message(missing: list[Missing], recipient: Recipient) -> str:
    listed = ", ".join(f"{{{m.placeholder}}} (in the {m.field})" for m in missing)
    example = missing[0].placeholder
    return (
        f"no value for {listed} for @{recipient.handle} ({recipient.id}): give "
        f"{'it' if len(missing) == 1 else 'each'} a fallback, like {{{example}|...}}, "
        "or write to someone else"
    )


@dataclass(frozen=True, slots=True)
class Source:
    """Where an InMail's text comes from: a subject and body as written, or a template's
    variant (rendered for the recipient when it is sent)."""

    subject: str | None = None
    body: str | None = None
    template_id: str | None = None
    variant: Variant = Variant.A

    def request(self, to: str) -> dict[str, object]:
        """What identifies the send for its idempotency key: a retry of a template send is
        the same request even if the recipient's profile (so the rendered text) changed."""
        if self.template_id is None:
            return {"to": to, "subject": self.subject, "body": self.body}
        return {"to": to, "template_id": self.template_id, "variant": self.variant.value}


def source_of(
    subject: str | None, body: str | None, template_id: str | None, variant: Variant | None
) -> Source:
    """Exactly one of (subject and body) or ``template_id``; ValidationError naming the field.

    ``variant`` goes with a template only (A when left out).
    """
    if template_id is not None:
        if subject is not None or body is not None:
            raise ValidationError(
                "give either template_id or subject and body, not both", field="template_id"
            )
        return Source(template_id=template_id, variant=variant or Variant.A)
    if variant is not None:
        raise ValidationError("variant goes with template_id", field="variant")
    for field, value in (("subject", subject), ("body", body)):
        if value is None:
            raise ValidationError(f"{field} is required (or give template_id)", field=field)
    return Source(subject, body)


def alternate(index: int, text: TemplateText) -> Variant:
    """The variant of the ``index``-th send of a bulk send (from 0): A, B, A, B, ...; A only
    when the template has no B."""
    return Variant.B if text.b is not None and index % 2 == 1 else Variant.A


# ---- the values of the placeholders ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """What a template may say about a member: their profile as they wrote it."""

    name: str
    headline: str = ""
    company: str = ""
    school: str = ""
    interests: tuple[str, ...] = ()


def values_for(
    sender: Profile,
    recipient: Profile,
    *,
    shared_group: str | None = None,
    mutual_connection: str | None = None,
) -> dict[str, str]:
    """Each placeholder's value for one (sender, recipient); a placeholder without a value
    is left out (so it renders its fallback, or fails).

    Names split as :func:`split_name`. ``shared_school`` is the recipient's school when the
    sender's is the same (:func:`same_text`); ``shared_interest`` the first of the
    recipient's interests, in their order and spelling, that the sender also lists.
    ``shared_group`` and ``mutual_connection`` are chosen by the caller (the services:
    the first shared group by name; the mutual connection the sender has known longest).
    """
    first, last = split_name(recipient.name)
    values = {
        "first_name": first,
        "last_name": last,
        "company": recipient.company,
        "school": recipient.school,
        "headline": recipient.headline,
        "my_name": sender.name,
        "shared_group": shared_group or "",
        "mutual_connection": mutual_connection or "",
    }
    if same_text(sender.school, recipient.school):
        values["shared_school"] = recipient.school
    common = [i for i in recipient.interests if any(same_text(i, s) for s in sender.interests)]
    if common:
        values["shared_interest"] = common[0]
    return {name: value.strip() for name, value in values.items() if value.strip()}


# ---- names ------------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """(first name, last name) of a member's display name.

    The first word is the first name and the rest, as written, the last name. A name of
    one word has no last name (``""``: ``{last_name}`` then needs a fallback).
    """
    words = name.split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


def same_text(a: str, b: str) -> bool:
    """Whether two profile texts (schools, interests) name the same thing: case and runs of
    whitespace do not matter, and an empty text matches nothing."""
    folded = " ".join(a.split()).casefold()
    return bool(folded) and folded == " ".join(b.split()).casefold()


# ---- response rate per template and variant ---------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateSend:
    """One InMail sent from a template: when, and how the thread was answered, if it was."""

    sent_at: datetime
    responded_at: datetime | None
    outcome: str | None  # "answered" (a reply) or "declined"; None while unanswered


@dataclass(frozen=True, slots=True)
class Counts:
    """SPEC §5 for a set of InMails, with the counts behind the rate.

    ``answered`` and ``declined`` count responses within 30 days of the send;
    ``pending_under_30_days`` are unanswered and younger than 30 days (not counted yet);
    ``no_response`` the rest (no response within 30 days). ``response_rate`` =
    (answered + declined) / (sent - pending_under_30_days), None when that is 0.
    """

    sent: int
    answered: int
    declined: int
    pending_under_30_days: int
    no_response: int

    @property
    def counted(self) -> int:
        return self.sent - self.pending_under_30_days

    @property
    def response_rate(self) -> float | None:
        return (self.answered + self.declined) / self.counted if self.counted else None


def count_responses(sends: list[TemplateSend], now: datetime) -> Counts:
    """:class:`Counts` of ``sends`` as of ``now`` (SPEC §5's 30-day window)."""
    answered = declined = pending = 0
    for send in sends:
        responded = send.responded_at
        if responded is not None and responded - send.sent_at <= RESPONSE_WINDOW:
            answered += send.outcome == "answered"
            declined += send.outcome == "declined"
        elif responded is None and now - send.sent_at <= RESPONSE_WINDOW:
            pending += 1
    no_response = len(sends) - answered - declined - pending
    return Counts(len(sends), answered, declined, pending, no_response)
