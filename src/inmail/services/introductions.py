"""Introductions through a mutual connection: a free route that opens a thread (SPEC §7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    Conflict,
    Forbidden,
    NotAMutualConnection,
    NotFound,
    UnknownMember,
    ValidationError,
)
from inmail.domain.messaging import ThreadStatus
from inmail.domain.network import FORWARD_NOTE, INTRODUCTION_NOTE
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store import social
from inmail.store.messaging import MessageRecord, ThreadRecord
from inmail.store.social import Introduction


def mutual_connections(
    deps: Deps, *, viewer: str, other: str, after: str | None = None, limit: int = 200
) -> list[str]:
    """Ids of the members connected to both, in id order, after ``after``."""
    with deps.db.read_stale() as conn:  # may lag the primary (docs/rules.md)
        if member_store.get_member(conn, other) is None:
            raise UnknownMember(f"there is no member {other!r}")
        return network_store.mutual_connections(conn, viewer, other, limit=limit, after=after)


def request_introduction(
    deps: Deps,
    *,
    requester_id: str,
    target_id: str,
    via_id: str,
    note: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Introduction:
    """Ask ``via_id``, connected to both, to introduce the requester to ``target_id``.

    A retry with the same ``idempotency_key`` answers the first request.
    """
    require_utc(now)
    request = {"target": target_id, "via": via_id, "note": note}
    write = keyed(Introduction, f"introduction:{requester_id}", idempotency_key, request)

    def effect(conn: Connection) -> Introduction:
        INTRODUCTION_NOTE.check(note, field="note")
        if requester_id in (target_id, via_id) or target_id == via_id:
            raise ValidationError("requester, target and connector are three members", field="via")
        for member_id in (target_id, via_id):
            if member_store.get_member(conn, member_id) is None:
                raise UnknownMember(f"there is no member {member_id!r}")
        if not (
            network_store.are_connected(conn, via_id, requester_id)
            and network_store.are_connected(conn, via_id, target_id)
        ):
            raise NotAMutualConnection("ask someone who is connected to both of you")
        intro = Introduction(
            new_id("intro"), requester_id, via_id, target_id, note, "pending", None, None, now, None
        )
        social.insert_introduction(conn, intro)
        message_store.notify(
            conn,
            member_id=via_id,
            at=now,
            kind="introduction_request",
            text=f"Introduction requested: {note[:100]}",
            reference=f"introduction:{intro.id}",
        )
        return intro

    return keyed_write(deps, write, now=now, effect=effect)


def _as_connector(intro: Introduction | None, member_id: str, intro_id: str) -> Introduction:
    if intro is None or member_id not in (intro.via_id, intro.requester_id, intro.target_id):
        raise NotFound(f"there is no introduction {intro_id!r}")
    if member_id != intro.via_id:
        raise Forbidden("only the member asked to introduce can forward or decline")
    if intro.status != "pending":
        raise Conflict(f"this introduction was {intro.status} already")
    return intro


def forward(
    deps: Deps,
    *,
    member_id: str,
    intro_id: str,
    note: str | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> Introduction:
    """The connector forwards: a free thread opens between requester and target.

    A retry with the same ``idempotency_key`` answers the first forward
    (instead of "this introduction was forwarded already").
    """
    require_utc(now)
    write = keyed(
        Introduction, f"forward:{member_id}", idempotency_key, {"intro": intro_id, "note": note}
    )

    def effect(conn: Connection) -> Introduction:
        if note is not None:
            FORWARD_NOTE.check(note, field="note")
        intro = _as_connector(social.get_introduction(conn, intro_id), member_id, intro_id)
        thread = ThreadRecord(
            new_id("th"),
            "introduction",
            intro.requester_id,
            intro.target_id,
            ThreadStatus.OPEN.value,
            now,
            now,
            None,
            0,
            None,
            None,
        )
        message_store.insert_thread(conn, thread)
        if note:
            message_store.insert_message(
                conn,
                MessageRecord(
                    new_id("msg"), thread.id, member_id, "introduction", None, note, 0, None, 0, now
                ),
            )
        message_store.insert_message(
            conn,
            MessageRecord(
                new_id("msg"),
                thread.id,
                intro.requester_id,
                "message",
                None,
                intro.note,
                0,
                None,
                0,
                now,
            ),
        )
        if not social.answer_introduction(
            conn,
            intro_id,
            status="forwarded",
            forward_note=note,
            thread_id=thread.id,
            answered_at=now,
        ):
            raise Conflict("this introduction was answered a moment ago")
        for notified in (intro.requester_id, intro.target_id):
            message_store.notify(
                conn,
                member_id=notified,
                at=now,
                kind="introduction_forwarded",
                text="An introduction was made: the thread is open",
                reference=f"thread:{thread.id}",
            )
        return replace(
            intro, status="forwarded", forward_note=note, thread_id=thread.id, answered_at=now
        )

    return keyed_write(deps, write, now=now, effect=effect)


def decline(deps: Deps, *, member_id: str, intro_id: str, now: datetime) -> Introduction:
    require_utc(now)
    with deps.db.write() as conn:
        intro = _as_connector(social.get_introduction(conn, intro_id), member_id, intro_id)
        if not social.answer_introduction(conn, intro_id, status="declined", answered_at=now):
            raise Conflict("this introduction was answered a moment ago")
        message_store.notify(
            conn,
            member_id=intro.requester_id,
            at=now,
            kind="introduction_declined",
            text="Your introduction request was declined",
            reference=f"introduction:{intro_id}",
        )
    return replace(intro, status="declined", answered_at=now)


def introductions_to_answer(deps: Deps, *, member_id: str) -> list[Introduction]:
    """Pending requests where the member is the connector, newest first."""
    with deps.db.read() as conn:
        return social.introductions_via(conn, member_id, status="pending")


def connections(deps: Deps, *, member_id: str) -> list[str]:
    """The member's 1st-degree connections: the people they can introduce others to."""
    with deps.db.read() as conn:
        return social.connection_ids(conn, member_id)
