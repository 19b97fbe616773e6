"""The per-process memo that spares a sender's requests the "anything due?" read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inmail.services import due_check
from inmail.services.due_check import DueCheck

NOW = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def test_an_unknown_sender_is_asked_about() -> None:
    assert not DueCheck().nothing_due("m_1", NOW)


def test_nothing_pending_is_trusted_for_a_day_the_soonest_a_new_schedule_can_be_due() -> None:
    memo = DueCheck()
    memo.remember("m_1", NOW, None)
    assert memo.nothing_due("m_1", NOW + timedelta(hours=23, minutes=59))
    assert not memo.nothing_due("m_1", NOW + timedelta(days=1))
    assert not memo.nothing_due("m_2", NOW)


def test_a_pending_schedule_is_trusted_until_it_is_due() -> None:
    memo = DueCheck()
    memo.remember("m_1", NOW, NOW + timedelta(hours=5))
    assert memo.nothing_due("m_1", NOW + timedelta(hours=4))
    assert not memo.nothing_due("m_1", NOW + timedelta(hours=5))
    memo.remember("m_1", NOW, NOW)  # due now: every request asks until it is run
    assert not memo.nothing_due("m_1", NOW)


def test_an_answer_is_trusted_for_a_minute_of_real_time_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = DueCheck()
    # The clock the memo reads, named by its path: due_check does not export ``time``.
    monkeypatch.setattr("inmail.services.due_check.time.monotonic", lambda: 1000.0)
    memo.remember("m_1", NOW, None)
    monkeypatch.setattr(
        "inmail.services.due_check.time.monotonic", lambda: 1000.0 + due_check.REFRESH_S
    )
    assert not memo.nothing_due("m_1", NOW)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(due_check, "MAX_SENDERS", 3)
    memo = DueCheck()
    for n in range(4):
        memo.remember(f"m_{n}", NOW, None)
    assert not memo.nothing_due("m_0", NOW)  # forgotten when the memo filled up
    assert memo.nothing_due("m_3", NOW)
