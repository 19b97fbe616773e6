"""Groups and group messages: a free route between members of one group (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    Conflict,
    Forbidden,
    GroupMessageLimitReached,
    GroupMessagesClosed,
    NotFound,
    NotGroupPeers,
    RecipientBlockedByYou,
    UnknownMember,
    ValidationError,
)
from inmail.domain.messaging import Channel, ThreadStatus, check_text
from inmail.domain.network import GROUP_DESCRIPTION, GROUP_NAME, month_start
from inmail.observe.metrics import record_send
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write
from inmail.services.inmail import Sent, message_write
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store import social
from inmail.store.messaging import MessageRecord, ThreadRecord
from inmail.store.social import Group


def create_group(
    deps: Deps,
    *,
    owner_id: str,
    name: str,
    description: str,
    closed: bool,
    now: datetime,
    idempotency_key: str | None = None,
) -> Group:
    """A new group; its creator is its owner and first member."""
    require_utc(now)
    request = {"name": name, "description": description, "closed": closed}
    write = keyed(Group, f"group:{owner_id}", idempotency_key, request)

    def effect(conn: Connection) -> Group:
        GROUP_NAME.check(name, field="name")
        GROUP_DESCRIPTION.check(description, field="description")
        group = Group(new_id("g"), name.strip(), description, closed, owner_id, now)
        social.insert_group(conn, group)
        social.set_membership(conn, group.id, owner_id, "member", now)
        return group

    return keyed_write(deps, write, now=now, effect=effect)


def _group(conn: Connection, group_id: str) -> Group:
    group = social.get_group(conn, group_id)
    if group is None:
        raise NotFound(f"there is no group {group_id!r}")
    return group


def join_group(deps: Deps, *, member_id: str, group_id: str, now: datetime) -> str:
    """Join an open group ('member') or ask to join a closed one ('pending')."""
    require_utc(now)
    with deps.db.write() as conn:
        group = _group(conn, group_id)
        current = social.membership(conn, group_id, member_id)
        if current is not None:
            return current
        status = "pending" if group.closed else "member"
        social.set_membership(conn, group_id, member_id, status, now)
        if status == "pending":
            message_store.notify(
                conn,
                member_id=group.owner_id,
                at=now,
                kind="group_request",
                text=f"A member asks to join {group.name}",
                reference=f"group:{group_id}",
            )
    return status


def approve_request(
    deps: Deps, *, owner_id: str, group_id: str, member_id: str, now: datetime
) -> str:
    require_utc(now)
    with deps.db.write() as conn:
        group = _group(conn, group_id)
        if group.owner_id != owner_id:
            raise Forbidden("only the group's owner approves requests to join")
        if social.membership(conn, group_id, member_id) != "pending":
            raise Conflict("there is no pending request from that member")
        social.set_membership(conn, group_id, member_id, "member", now)
        message_store.notify(
            conn,
            member_id=member_id,
            at=now,
            kind="group_joined",
            text=f"You are now a member of {group.name}",
            reference=f"group:{group_id}",
        )
    return "member"


def leave_group(deps: Deps, *, member_id: str, group_id: str) -> None:
    with deps.db.write() as conn:
        group = _group(conn, group_id)
        if group.owner_id == member_id:
            raise Conflict("the owner cannot leave their own group")
        if not social.remove_membership(conn, group_id, member_id):
            raise NotFound("you are not in that group")


def group_members(
    deps: Deps,
    *,
    viewer: str,
    group_id: str,
    after: tuple[datetime, str] | None = None,
    limit: int = 500,
) -> list[tuple[datetime, str]]:
    """(member since, member id), longest-standing first, after ``after`` (a (since, id) key).

    A closed group shows its members to its members only (Forbidden); NotFound without
    such a group.
    """
    with deps.db.read() as conn:
        group = _group(conn, group_id)
        if group.closed and social.membership(conn, group_id, viewer) != "member":
            raise Forbidden("the members of a closed group are visible to its members")
        return social.group_member_page(conn, group_id, after=after, limit=limit)


def send_group_message(
    deps: Deps,
    *,
    sender_id: str,
    group_id: str,
    to: str,
    body: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Sent:
    """A free message to a fellow group member; starting a conversation counts toward a limit.

    A retry with the same ``idempotency_key`` answers the first message (and
    starts no second conversation, so it never counts twice toward the limit).
    """
    require_utc(now)
    request = {"group": group_id, "to": to, "body": body}
    write = message_write(deps, sender_id, idempotency_key, request)

    written: list[Sent] = []

    def effect(conn: Connection) -> Sent:
        check_text(None, body)
        _check_peers(conn, group_id, sender_id, to)
        thread = message_store.thread_between(conn, "group", sender_id, to)
        if thread is None:
            thread = _start_conversation(deps, conn, group_id, sender_id, to, now)
        message = MessageRecord(
            new_id("msg"), thread.id, sender_id, "message", None, body, 0, None, 0, now
        )
        message_store.insert_message(conn, message)
        message_store.update_thread(conn, thread.id, last_message_at=now)
        message_store.notify(
            conn,
            member_id=to,
            at=now,
            kind="group_message",
            text=body[:120],
            reference=f"thread:{thread.id}",
        )
        written.append(Sent(message.id, thread.id, "message", 0, None, None))
        return written[-1]

    # The sender's row lock serialises their sends, so the monthly count cannot be raced.
    sent = keyed_write(deps, write, now=now, effect=effect, lock_member=sender_id)
    if written and sent is written[-1]:  # committed just now, not the first answer replayed
        record_send(Channel.GROUP_MESSAGE.value)
    return sent


def _check_peers(conn: Connection, group_id: str, sender_id: str, to: str) -> None:
    _group(conn, group_id)
    if sender_id == to:
        raise ValidationError("that is you: pick another member", field="to")
    settings = member_store.get_messaging_settings(conn, to)
    if settings is None:
        raise UnknownMember(f"there is no member {to!r}")
    members = {social.membership(conn, group_id, m) for m in (sender_id, to)}
    if members != {"member"}:
        raise NotGroupPeers("group messages go between members of the same group")
    if network_store.has_blocked(conn, sender_id, to):
        raise RecipientBlockedByYou("you blocked this member: unblock them to write to them")
    if not settings.group_messages_open or network_store.is_blocked_either_way(conn, sender_id, to):
        raise GroupMessagesClosed("this member does not accept group messages")


def _start_conversation(
    deps: Deps, conn: Connection, group_id: str, sender_id: str, to: str, now: datetime
) -> ThreadRecord:
    limit = deps.group_message_monthly_limit
    started = message_store.group_conversations_started(conn, sender_id, month_start(now))
    if started >= limit:
        raise GroupMessageLimitReached(
            f"you started {started} group conversations this month, the most allowed ({limit}); "
            "replies and existing conversations stay free"
        )
    thread = ThreadRecord(
        new_id("th"),
        "group",
        sender_id,
        to,
        ThreadStatus.OPEN.value,
        now,
        now,
        None,
        0,
        None,
        None,
        group_id,
    )
    message_store.insert_thread(conn, thread)
    return thread


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group as one member sees it."""

    group: Group
    status: str | None
    """The viewer's membership: 'member', 'pending' or None."""
    members: tuple[str, ...] | None
    """Member ids; None when the group is closed and the viewer is not a member."""
    pending: tuple[str, ...]
    """Requests to join, shown to the owner only (empty for everyone else)."""


def view_group(deps: Deps, *, viewer: str, group_id: str) -> GroupView:
    with deps.db.read() as conn:
        group = _group(conn, group_id)
        status = social.membership(conn, group_id, viewer)
        visible = not group.closed or status == "member"
        members = tuple(social.group_member_ids(conn, group_id)) if visible else None
        pending = (
            tuple(social.group_member_ids(conn, group_id, status="pending"))
            if group.owner_id == viewer
            else ()
        )
    return GroupView(group, status, members, pending)


def my_groups(deps: Deps, *, member_id: str) -> list[tuple[Group, str]]:
    """The member's groups and requests to join, with the status of each."""
    with deps.db.read() as conn:
        return social.groups_of(conn, member_id)
