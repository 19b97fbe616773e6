"""Connections between members (the operator's endpoint; invitations come with messaging)."""

from __future__ import annotations

from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownMember, ValidationError
from inmail.services.context import Deps
from inmail.store import members as member_store
from inmail.store import network as network_store


def connect(deps: Deps, *, a: str, b: str, now: datetime) -> bool:
    """Make ``a`` and ``b`` 1st-degree connections; False if they already were."""
    require_utc(now)
    if a == b:
        raise ValidationError("a member cannot connect to themself", field="b")
    with deps.db.write() as conn:
        for field, member_id in (("a", a), ("b", b)):
            if member_store.get_member(conn, member_id) is None:
                raise UnknownMember(f"there is no member {member_id!r} ({field})")
        if network_store.are_connected(conn, a, b):
            return False
        network_store.insert_connection(conn, a, b, now)
        return True
