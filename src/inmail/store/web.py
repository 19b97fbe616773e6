"""Passwords and shared secrets for the web app."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from inmail.store.tables import app_secrets, member_passwords, members


def password_hash_for_handle(conn: Connection, handle: str) -> tuple[str, str] | None:
    """(member id, password hash) of the member with that handle, if they have a password."""
    query = (
        select(members.c.id, member_passwords.c.hash)
        .join(member_passwords, member_passwords.c.member_id == members.c.id)
        .where(members.c.handle == handle)
    )
    row = conn.execute(query).first()
    return None if row is None else (row[0], row[1])


def set_password_hash(conn: Connection, member_id: str, hashed: str, at: datetime) -> None:
    key = member_passwords.c.member_id == member_id
    changed = conn.execute(update(member_passwords).where(key).values(hash=hashed, updated_at=at))
    if changed.rowcount == 0:
        conn.execute(
            insert(member_passwords).values(member_id=member_id, hash=hashed, updated_at=at)
        )


def shared_secret(conn: Connection, name: str) -> str:
    """The deployment's secret ``name``, created at random the first time it is asked for."""
    query = select(app_secrets.c.value).where(app_secrets.c.name == name)
    found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return str(found)
    value = secrets.token_urlsafe(48)
    try:
        with conn.begin_nested():
            conn.execute(insert(app_secrets).values(name=name, value=value))
    except IntegrityError:  # another process created it first: use theirs
        return str(conn.execute(query).scalar_one())
    return value
