"""Contact info: each field has a visibility, and viewers see only what it allows (SPEC §7)."""

from __future__ import annotations

from collections.abc import Mapping

from inmail.domain.errors import UnknownMember, ValidationError
from inmail.domain.network import (
    CONTACT_FIELDS,
    CONTACT_VALUE,
    DEFAULT_VISIBILITY,
    Visibility,
    visible_to,
)
from inmail.services.context import Deps
from inmail.store import members as member_store
from inmail.store import network as network_store
from inmail.store import social


def put_contact_info(
    deps: Deps, *, member_id: str, changes: Mapping[str, tuple[str, str | None] | None]
) -> dict[str, tuple[str, Visibility]]:
    """Set (value, visibility) per field, or remove it with None; returns all fields."""
    for field, change in changes.items():
        _check(field, change)
    with deps.db.write() as conn:
        for field, change in changes.items():
            if change is None:
                social.delete_contact_field(conn, member_id, field)
                continue
            value, visibility = change
            chosen = Visibility(visibility) if visibility else DEFAULT_VISIBILITY[field]
            social.put_contact_field(conn, member_id, field, value.strip(), chosen.value)
        stored = social.contact_fields(conn, member_id)
    return {f: (v, Visibility(vis)) for f, (v, vis) in stored.items()}


def own_contact_info(deps: Deps, *, member_id: str) -> dict[str, tuple[str, Visibility]]:
    """The member's own fields with their visibility (a read: nothing is written)."""
    with deps.db.read() as conn:
        stored = social.contact_fields(conn, member_id)
    return {f: (v, Visibility(vis)) for f, (v, vis) in stored.items()}


def _check(field: str, change: tuple[str, str | None] | None) -> None:
    if field not in CONTACT_FIELDS:
        raise ValidationError(f"contact info has {', '.join(CONTACT_FIELDS)}", field=field)
    if change is None:
        return
    value, visibility = change
    CONTACT_VALUE.check(value, field=field)
    if visibility is not None and visibility not in {v.value for v in Visibility}:
        raise ValidationError(
            f"visibility is one of {', '.join(v.value for v in Visibility)}", field=field
        )


def visible_contact_info(deps: Deps, *, viewer: str, member_id: str) -> dict[str, str]:
    """Exactly the fields of ``member_id`` that ``viewer`` may see."""
    with deps.db.read() as conn:
        if member_store.get_member(conn, member_id) is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        fields = social.contact_fields(conn, member_id)
        is_self = viewer == member_id
        degree = 0 if is_self else network_store.degree(conn, viewer, member_id)
    return {
        field: value
        for field, (value, visibility) in fields.items()
        if visible_to(Visibility(visibility), is_self=is_self, degree=degree)
    }
