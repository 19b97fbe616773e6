"""Every service that stores client text refuses control characters and invisible-only text,
identically on SQLite and PostgreSQL, naming the field, and writes (and charges) nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inmail.domain.errors import ValidationError
from inmail.services import catalog, contact, groups, inmail, introductions, members, network, posts
from inmail.services.context import Deps
from inmail.services.credits import adjust_credits
from inmail.services.inbox import get_thread
from inmail.store.tables import metadata
from tests.conftest import T0
from tests.helpers import balance, days, ledger, new_member

# NUL (PostgreSQL cannot store it; SQLite would), a zero-width space and a byte-order mark
# alone (invisible: "empty"), and an escape sequence that would colour a terminal.
BAD = {"nul": "\u0000", "zwsp": "\u200b", "bom": "\ufeff", "escape": "Hi \x1b[31m"}
WHY = {
    "nul": "cannot contain control characters",
    "zwsp": "cannot be blank",
    "bom": "cannot be blank",
    "escape": "cannot contain control characters",
}


@dataclass
class World:
    deps: Deps
    ada: str  # premium_business, connected to bob and cy
    bob: str
    cy: str  # connected to ada, bob and dan: the connector of introductions
    dan: str  # a stranger to ada
    thread: str  # ada's InMail to dan, unanswered, 8 days old
    group: str  # ada's group, bob in it
    intro: str  # bob asked cy to introduce him to dan: pending


@pytest.fixture
def world(deps: Deps) -> World:
    ada, bob, cy, dan = (
        new_member(deps, "premium_business", T0, h) for h in ["ada", "bob", "cy", "dan"]
    )
    for a, b in ((ada, bob), (ada, cy), (bob, cy), (cy, dan)):
        network.connect(deps, a=a, b=b, now=T0)
    sent = inmail.send_inmail(deps, sender_id=ada, to=dan, subject="Hi", body="Hello", now=T0)
    group = groups.create_group(
        deps, owner_id=ada, name="Makers", description="", closed=False, now=T0
    )
    groups.join_group(deps, member_id=bob, group_id=group.id, now=T0)
    intro = introductions.request_introduction(
        deps, requester_id=bob, target_id=dan, via_id=cy, note="Please", now=T0
    )
    return World(deps, ada, bob, cy, dan, sent.thread_id, group.id, intro.id)


Call = Callable[[World, str], Any]
LATER = T0 + days(8)  # a follow-up is due
# (field named, call with the bad text in that field)
CALLS: dict[str, tuple[str, Call]] = {
    "inmail subject": ("subject", lambda w, t: inmail.send_inmail(
        w.deps, sender_id=w.ada, to=w.dan, subject=t, body="Hello", now=LATER)),
    "inmail body": ("body", lambda w, t: inmail.send_inmail(
        w.deps, sender_id=w.ada, to=w.dan, subject="Hi", body=t, now=LATER)),
    "follow-up": ("body", lambda w, t: inmail.post_in_thread(
        w.deps, member_id=w.ada, thread_id=w.thread, body=t, now=LATER)),
    "reply": ("body", lambda w, t: inmail.post_in_thread(
        w.deps, member_id=w.dan, thread_id=w.thread, body=t, now=LATER)),
    "message": ("body", lambda w, t: inmail.send_message(
        w.deps, sender_id=w.ada, to=w.bob, body=t, now=LATER)),
    "group message": ("body", lambda w, t: groups.send_group_message(
        w.deps, sender_id=w.bob, group_id=w.group, to=w.ada, body=t, now=LATER)),
    "group name": ("name", lambda w, t: groups.create_group(
        w.deps, owner_id=w.ada, name=t, description="", closed=False, now=LATER)),
    "group description": ("description", lambda w, t: groups.create_group(
        w.deps, owner_id=w.ada, name="Makers 2", description=t, closed=False, now=LATER)),
    "post": ("body", lambda w, t: posts.create_post(w.deps, author_id=w.ada, body=t, now=LATER)),
    "invitation note": ("note", lambda w, t: network.invite(
        w.deps, from_id=w.ada, to=w.dan, note=t, now=LATER)),
    "introduction note": ("note", lambda w, t: introductions.request_introduction(
        w.deps, requester_id=w.ada, target_id=w.dan, via_id=w.cy, note=t, now=LATER)),
    "forward note": ("note", lambda w, t: introductions.forward(
        w.deps, member_id=w.cy, intro_id=w.intro, note=t, now=LATER)),
    "contact value": ("website", lambda w, t: contact.put_contact_info(
        w.deps, member_id=w.ada, changes={"website": (t, None)})),
    "member name": ("name", lambda w, t: members.create_member(
        w.deps, handle="eve", name=t, now=LATER)),
    "member headline": ("headline", lambda w, t: members.create_member(
        w.deps, handle="eve", name="Eve", headline=t, now=LATER)),
    "member company": ("company", lambda w, t: members.create_member(
        w.deps, handle="eve", name="Eve", company=t, now=LATER)),
    "member interest": ("interests", lambda w, t: members.create_member(
        w.deps, handle="eve", name="Eve", interests=["chess", t], now=LATER)),
    "plan name": ("name", lambda w, t: catalog.update_plan(
        w.deps, code="recruiter", changes={"name": t}, now=LATER)),
    "adjustment reason": ("reason", lambda w, t: adjust_credits(
        w.deps, member_id=w.ada, amount=5, reason=t, now=LATER)),
}  # fmt: skip


def _row_counts(deps: Deps) -> dict[str, int]:
    with deps.db.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


@pytest.mark.parametrize("where", CALLS.keys())
def test_control_or_invisible_text_is_refused_and_nothing_is_written(
    world: World, where: str
) -> None:
    field, call = CALLS[where]
    before = _row_counts(world.deps), balance(world.deps, world.ada, LATER)
    entries = len(ledger(world.deps, world.ada, LATER))
    for bad, text in BAD.items():
        with pytest.raises(ValidationError, match=WHY[bad]) as refused:
            call(world, text)
        assert refused.value.field == field, bad
        assert (_row_counts(world.deps), balance(world.deps, world.ada, LATER)) == before, bad
        assert len(ledger(world.deps, world.ada, LATER)) == entries, bad


def test_multi_line_bodies_keep_their_line_breaks_and_tabs(world: World) -> None:
    body = "Dear Dan,\r\n\tthanks for\nyour time."
    sent = inmail.post_in_thread(
        world.deps, member_id=world.ada, thread_id=world.thread, body=body, now=LATER
    )
    assert sent.kind == "followup"
    view = get_thread(world.deps, member_id=world.ada, thread_id=world.thread)
    assert view.messages[-1].body == body


def test_one_line_texts_refuse_line_breaks(world: World) -> None:
    with pytest.raises(ValidationError, match="line breaks") as refused:
        inmail.send_inmail(
            world.deps,
            sender_id=world.ada,
            to=world.dan,
            subject="Hi\nthere",
            body="Hello",
            now=LATER,
        )
    assert refused.value.field == "subject"
