"""The worker's response-rate sweep (services.reputation.sweep) on both engines: it warns a
member who never sends in bulk, once however often it runs, turns bulk sending off after the
grace days, and leaves alone members under the minimum of InMails."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from inmail.domain.reputation import ReputationRules
from inmail.services.context import Deps
from inmail.services.inmail import send_inmail
from inmail.services.reputation import sweep
from inmail.store import reputation as store
from inmail.store.tables import notifications, outbox_events
from tests.conftest import T0
from tests.helpers import days, new_member

RULES = ReputationRules(min_sent=3, floor=0.5, grace_days=7, bulk_off_days=14)


def _sent(deps: Deps, sender: str, n: int) -> None:
    for _ in range(n):
        to = new_member(deps, "basic", T0)
        send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)


def _count(deps: Deps, kind: str) -> int:
    query = select(func.count()).where(outbox_events.c.type == kind)
    with deps.db.read() as conn:
        return int(conn.execute(query).scalar_one())


def test_the_sweep_warns_once_then_turns_bulk_sending_off(deps: Deps) -> None:
    deps = replace(deps, reputation=RULES)
    low, few = new_member(deps, "premium_business", T0), new_member(deps, "premium_business", T0)
    _sent(deps, low, 3)
    _sent(deps, few, 2)  # under min_sent: never warned

    first = sweep(deps, now=T0 + days(1))
    assert (first.checked, first.changed) == (1, 1)
    again = sweep(deps, now=T0 + days(2))
    assert again.changed == 0
    with deps.db.read() as conn:
        assert store.get_standing(conn, low).warned_at == T0 + days(1)
        assert store.get_standing(conn, few).warned_at is None
        warned = select(func.count()).where(
            notifications.c.member_id == low, notifications.c.kind == "reputation_warning"
        )
        assert conn.execute(warned).scalar_one() == 1
    assert _count(deps, "member.warned") == 1

    sweep(deps, now=T0 + days(8))  # 7 days after the warning, still under the floor
    with deps.db.read() as conn:
        standing = store.get_standing(conn, low)
    assert standing.bulk_off_until == T0 + days(8) + days(14)
    assert _count(deps, "member.bulk_sending_off") == 1
