"""A ranking's reads are a fixed number of statements, however many candidates and facts.

Every fact about the candidates is read in one statement (``store.targeting.facts``):
on a busy server each round trip waits its turn, so their number is what issue 10's
latency target hangs on. Checked on both engines with every kind of fact present.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from inmail.services.context import Deps
from inmail.services.members import create_member
from inmail.services.targeting import rank_candidates
from inmail.store.network import insert_connection
from inmail.store.social import set_membership
from inmail.store.tables import blocks, groups, posts, threads
from tests.conftest import T0


@contextmanager
def _counted(deps: Deps) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):
            seen.append(sql)

    event.listen(deps.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(deps.db.engine, "before_cursor_execute", count)


def _network(deps: Deps, size: int) -> tuple[str, list[str]]:
    """Me, and ``size`` candidates with mutual connections, a shared group, threads both
    ways, InMails received, posts and a block among them."""
    me = create_member(deps, handle="me", name="Me", plan="premium_business", now=T0).id
    others = [create_member(deps, handle=f"c{i}", name=f"Cand {i}", now=T0).id for i in range(size)]
    friend = create_member(deps, handle="friend", name="Friend", now=T0).id
    with deps.db.write() as conn:
        insert_connection(conn, me, friend, T0)
        insert_connection(conn, me, others[0], T0)
        conn.execute(
            groups.insert().values(
                id="g1", name="G", description="", closed=False, owner_id=me, created_at=T0
            )
        )
        set_membership(conn, "g1", me, "member", T0)
        conn.execute(blocks.insert().values(blocker_id=others[1], blocked_id=me, created_at=T0))
        for i, other in enumerate(others):
            if i:  # others[0] is mine already
                insert_connection(conn, friend, other, T0)
            set_membership(conn, "g1", other, "member", T0)
            sent = T0 - timedelta(days=3)
            for n, (a, b) in enumerate(((me, other), (friend, other))):
                conn.execute(
                    threads.insert().values(
                        id=f"t{i}_{n}",
                        kind="inmail",
                        initiator_id=a,
                        recipient_id=b,
                        status="answered",
                        created_at=sent,
                        last_message_at=sent,
                        last_inmail_at=sent,
                        followups_sent=0,
                        opened_at=sent,
                        responded_at=sent,
                    )
                )
            conn.execute(
                posts.insert().values(id=f"p{i}", author_id=other, body="Hi", created_at=sent)
            )
    return me, others


def test_a_ranking_reads_four_statements_whatever_the_number_of_candidates(deps: Deps) -> None:
    me, others = _network(deps, 12)
    rank_candidates(deps, member_id=me, candidates=others[:1], now=T0)  # reads the plans once
    for count in (3, 12):
        with _counted(deps) as seen:
            ranked = rank_candidates(deps, member_id=me, candidates=others[:count], now=T0)
        # The account as of now; then the seat (none: they send on their own plan), the
        # profiles, and every fact in one statement.
        assert len(seen) == 4, seen
        assert len(ranked.items) == count
        facts = {r.member.id: r.ranked for r in ranked.items}
        assert facts[others[0]].connected
        assert not facts[others[1]].reachable  # they blocked me
        every_fact = facts[others[2]]
        assert every_fact.mutual_count == 1
        for reason in (
            "free: you have an open conversation with them",
            "they replied to your InMail before",
            "1 mutual connection: Friend",
            "you are both in G",
            "active in the last 30 days",
        ):
            assert reason in every_fact.reasons
