"""A member's message templates: keeping them, rendering them for recipients, and how the
InMails sent from them were answered (SPEC §8 "Personalization", §5; docs/rules.md
"Templates").

Rendering is what sends, bulk sends and scheduled follow-ups call: :func:`render_for` for
one recipient, :func:`render_batch` for many at the cost of one read transaction of a few
queries, however many recipients (a bulk send renders up to 500).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import DomainError, NotFound, UnknownMember, ValidationError
from inmail.domain.templates import (
    Counts,
    Letter,
    Profile,
    Recipient,
    TemplateSend,
    TemplateText,
    Variant,
    alternate,
    check_template,
    count_responses,
    render,
    values_for,
)
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write
from inmail.store import members as member_store
from inmail.store import templates as template_store
from inmail.store.members import MemberRecord
from inmail.store.templates import TemplateRecord


@dataclass(frozen=True, slots=True)
class Template:
    """A template as its owner sees it: variant A in ``text.a``, B in ``text.b`` (or None)."""

    id: str
    name: str
    text: TemplateText
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template's variant rendered for one recipient: the InMail's subject and body."""

    recipient_id: str
    template_id: str
    variant: Variant
    subject: str
    body: str


def _template(record: TemplateRecord) -> Template:
    b = None
    if record.b_subject is not None and record.b_body is not None:
        b = Letter(record.b_subject, record.b_body)
    text = TemplateText(Letter(record.subject, record.body), b)
    return Template(record.id, record.name, text, record.created_at, record.updated_at)


def _record(owner_id: str, template: Template) -> TemplateRecord:
    b = template.text.b
    return TemplateRecord(
        id=template.id,
        owner_id=owner_id,
        name=template.name,
        subject=template.text.a.subject,
        body=template.text.a.body,
        b_subject=None if b is None else b.subject,
        b_body=None if b is None else b.body,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


def _owned(conn: Connection, owner_id: str, template_id: str) -> Template:
    """The owner's live template; NotFound for anyone else's (404: never reveal it exists)."""
    record = template_store.get_template(conn, template_id)
    if record is None or record.owner_id != owner_id or record.deleted_at is not None:
        raise NotFound(f"you have no template {template_id!r}")
    return _template(record)


def _request(name: str, text: TemplateText) -> dict[str, object]:
    b = None if text.b is None else {"subject": text.b.subject, "body": text.b.body}
    return {"name": name, "subject": text.a.subject, "body": text.a.body, "b": b}


# ---- keeping templates ------------------------------------------------------------------


def create_template(
    deps: Deps,
    *,
    owner_id: str,
    name: str,
    text: TemplateText,
    now: datetime,
    idempotency_key: str | None = None,
) -> Template:
    """A new template. Raises ValidationError (a text rule, naming the field) or
    TemplateSyntaxError (every unknown placeholder or stray brace, with its position).
    A retry with the same ``idempotency_key`` answers the first creation."""
    require_utc(now)

    def effect(conn: Connection) -> Template:
        check_template(name, text)
        template = Template(new_id("tpl"), name, text, now, now)
        template_store.insert_template(conn, _record(owner_id, template))
        return template

    write = keyed(Template, f"templates:{owner_id}", idempotency_key, _request(name, text))
    return keyed_write(deps, write, now=now, effect=effect)


def get_template(deps: Deps, *, owner_id: str, template_id: str) -> Template:
    """One of the owner's templates. Raises NotFound (also for another member's)."""
    with deps.db.read() as conn:
        return _owned(conn, owner_id, template_id)


def list_templates(
    deps: Deps, *, owner_id: str, before: int | None = None, limit: int | None = 50
) -> list[tuple[int, Template]]:
    """(position, template) of the owner's templates, newest first; those before ``before``."""
    with deps.db.read() as conn:
        found = template_store.list_templates(conn, owner_id, before=before, limit=limit)
    return [(seq, _template(record)) for seq, record in found]


def replace_template(
    deps: Deps, *, owner_id: str, template_id: str, name: str, text: TemplateText, now: datetime
) -> Template:
    """The template with everything replaced (a B variant left out is removed).

    InMails already sent keep their rendered text. Raises as :func:`create_template`, and
    NotFound for a template that is not the owner's or was deleted.
    """
    require_utc(now)
    check_template(name, text)
    with deps.db.write() as conn:
        old = _owned(conn, owner_id, template_id)
        new = Template(old.id, name, text, old.created_at, now)
        if not template_store.replace_template(conn, _record(owner_id, new)):
            raise NotFound(f"you have no template {template_id!r}")  # deleted a moment ago
    return new


def delete_template(deps: Deps, *, owner_id: str, template_id: str, now: datetime) -> None:
    """The template is gone from the owner's list and can no longer be sent or rendered;
    its InMails keep naming it, so its response rate stays in the stats. Raises NotFound."""
    require_utc(now)
    with deps.db.write() as conn:
        _owned(conn, owner_id, template_id)
        if not template_store.delete_template(conn, template_id, now):
            raise NotFound(f"you have no template {template_id!r}")


# ---- rendering -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Facts:
    """What one read gathered to fill placeholders, for one sender and many recipients."""

    sender: Profile
    recipients: dict[str, MemberRecord]
    shared_groups: dict[str, str]
    mutual_connections: dict[str, str]


def _profile(record: MemberRecord) -> Profile:
    return Profile(record.name, record.headline, record.company, record.school, record.interests)


def _gather(conn: Connection, sender_id: str, recipients: Sequence[str]) -> _Facts:
    ids = sorted({r for r in recipients if r != sender_id})
    found = {m.id: m for m in member_store.members_by_id(conn, [sender_id, *ids])}
    if sender_id not in found:
        raise UnknownMember(f"there is no member {sender_id!r}")
    return _Facts(
        _profile(found.pop(sender_id)),
        found,
        template_store.first_shared_groups(conn, sender_id, ids),
        template_store.first_mutual_connections(conn, sender_id, ids),
    )


def _render_one(
    template: Template, facts: _Facts, sender_id: str, to: str, variant: Variant
) -> Rendered:
    if to == sender_id:
        raise ValidationError("that is you: pick another member", field="to")
    recipient = facts.recipients.get(to)
    if recipient is None:
        raise UnknownMember(f"there is no member {to!r}")
    values = values_for(
        facts.sender,
        _profile(recipient),
        shared_group=facts.shared_groups.get(to),
        mutual_connection=facts.mutual_connections.get(to),
    )
    letter = render(template.text.variant(variant), values, Recipient(to, recipient.handle))
    return Rendered(to, template.id, variant, letter.subject, letter.body)


def render_batch(
    deps: Deps,
    *,
    owner_id: str,
    template_id: str,
    recipients: Sequence[str],
    now: datetime,
    variant: Variant | None = None,
) -> list[Rendered | DomainError]:
    """The template rendered for each recipient, in order: a :class:`Rendered`, or the
    reason it cannot be (UnknownMember, ValidationError for yourself or rendered text over
    the limits, TemplatePlaceholderMissing naming each placeholder and the recipient).

    ``variant``: the one to render for everyone; None alternates A, B, A, ... by position
    (A only, when the template has no B), as a bulk send does. Raises NotFound when the
    template is not the owner's, and ValidationError (``variant``) asking for a B it has
    not. One read transaction of four queries, whatever the number of recipients.
    """
    require_utc(now)
    with deps.db.read() as conn:
        template = _owned(conn, owner_id, template_id)
        if variant is not None:
            template.text.variant(variant)  # a missing B refuses the whole batch
        facts = _gather(conn, owner_id, recipients)
    outcomes: list[Rendered | DomainError] = []
    for index, to in enumerate(recipients):
        chosen = variant if variant is not None else alternate(index, template.text)
        try:
            outcomes.append(_render_one(template, facts, owner_id, to, chosen))
        except DomainError as refused:
            outcomes.append(refused)
    return outcomes


def render_for(
    deps: Deps,
    *,
    owner_id: str,
    template_id: str,
    to: str,
    now: datetime,
    variant: Variant = Variant.A,
) -> Rendered:
    """The template's ``variant`` rendered for ``to``; raises what :func:`render_batch`
    reports (NotFound, UnknownMember, ValidationError, TemplatePlaceholderMissing)."""
    outcome = render_batch(
        deps, owner_id=owner_id, template_id=template_id, recipients=[to], now=now, variant=variant
    )[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


# ---- how they were answered ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateStats:
    """SPEC §5 response rate of one template, in all and per variant, with its counts."""

    template_id: str
    name: str
    deleted: bool
    total: Counts
    variants: tuple[tuple[Variant, Counts], ...]


def template_stats(deps: Deps, *, owner_id: str, now: datetime) -> list[TemplateStats]:
    """Every live template of the owner's and every deleted one that sent InMail, newest
    first; each with variant A's counts, and B's when it has or had a B."""
    require_utc(now)
    with deps.db.read_stale() as conn:  # stats may lag the primary (docs/rules.md)
        sends = template_store.sent_from_templates(conn, owner_id)
        listed = template_store.list_templates(conn, owner_id, before=None, limit=None)
        live = [record for _, record in listed]
        gone = {s.template_id for s in sends} - {t.id for t in live}
        records = live + list(template_store.templates_by_id(conn, sorted(gone)).values())
    by_variant: dict[tuple[str, str], list[TemplateSend]] = {}
    for send in sends:
        outcome = send.status if send.responded_at is not None else None
        entry = TemplateSend(send.sent_at, send.responded_at, outcome)
        by_variant.setdefault((send.template_id, send.variant), []).append(entry)
    records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return [_stats(record, by_variant, now) for record in records]


def _stats(
    record: TemplateRecord, sends: dict[tuple[str, str], list[TemplateSend]], now: datetime
) -> TemplateStats:
    a = sends.get((record.id, Variant.A), [])
    b = sends.get((record.id, Variant.B), [])
    variants = [(Variant.A, count_responses(a, now))]
    if b or record.b_subject is not None:
        variants.append((Variant.B, count_responses(b, now)))
    total = count_responses(a + b, now)
    deleted = record.deleted_at is not None
    return TemplateStats(record.id, record.name, deleted, total, tuple(variants))
