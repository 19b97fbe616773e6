"""Concurrent InMails to one recipient: one is sent and charged, the rest wait (SPEC §4).

Run on a real SQLite file and on a real PostgreSQL (the ``deps`` fixture). The threads
start together at a barrier; each sends with its own Idempotency-Key (or none), so the
keys cannot make them one request. The unique index on awaiting InMail threads is what
lets only one thread, and so only one spend, be written; every loser is refused with
``inmail-already-awaiting-response`` naming the winner's thread, nothing charged. Both
ways a spend is made are raced: the hot path (credits on hand) and the general one
(out of credits, so each send would buy the overage pack).
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Select, func, select

from inmail.domain.errors import InmailAlreadyAwaitingResponse
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.services.credits import adjust_credits
from inmail.services.inmail import Sent, send_inmail
from inmail.services.statements import list_charges
from inmail.store.tables import notifications, threads
from tests.conftest import T0
from tests.helpers import balance, days, new_member
from tests.integration.test_send_concurrency import spend_references, together

NOW = T0 + days(1)
SENDERS = 12
CREDITS = 25  # premium_business's allotment


def _count(deps: Deps, query: Select[int]) -> int:
    with deps.db.read() as conn:
        return int(conn.execute(query).scalar_one())


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "own-keys"])
@pytest.mark.parametrize("path", ["hot", "overage"])
def test_concurrent_inmails_to_one_recipient_send_one_and_charge_once(
    deps: Deps, path: str, keyed: bool
) -> None:
    sender = new_member(deps, "premium_business", T0)
    recipient = new_member(deps, "basic", T0)
    if path == "overage":  # nothing left: every attempt would buy the overage pack
        adjust_credits(deps, member_id=sender, amount=-CREDITS, reason="spent", now=T0)

    def send(i: int) -> Sent:
        return send_inmail(
            deps,
            sender_id=sender,
            to=recipient,
            subject=f"Hello ({i})",
            body="Are you open to a chat?",
            now=NOW,
            idempotency_key=f"send-{i}" if keyed else None,
        )

    results = together(SENDERS, send)

    sent = [r for r in results if isinstance(r, Sent)]
    refused = [r for r in results if isinstance(r, InmailAlreadyAwaitingResponse)]
    assert len(sent) == 1, results
    assert len(refused) == SENDERS - 1, results  # no other error: no deadlock, no 500
    (winner,) = sent
    assert {r.thread_id for r in refused} == {winner.thread_id}
    assert {r.follow_up_at for r in refused} == {NOW + days(7)}
    assert spend_references(deps, sender) == Counter([f"inmail:{winner.id}"])
    assert _count(deps, select(func.count()).select_from(threads)) == 1
    new_inmail = notifications.c.kind == "new_inmail"
    assert _count(deps, select(func.count()).select_from(notifications).where(new_inmail)) == 1
    charges = list_charges(deps, member_id=sender, now=NOW, limit=100)
    if path == "overage":
        assert winner.overage_charge is not None
        assert [c.kind for c in charges].count("overage") == 1
        assert balance(deps, sender, NOW) == 0
    else:
        assert winner.overage_charge is None
        assert "overage" not in [c.kind for c in charges]
        assert balance(deps, sender, NOW) == CREDITS - 1
    assert run_audit(deps) == []
