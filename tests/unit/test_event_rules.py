"""The event builders (domain/events.py): payloads as documented in docs/events.md."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from inmail.domain.credits import Entry, EntryKind, Lot, LotSource
from inmail.domain.events import entry_id_text, ledger_entry_created, payload_text
from tests.conftest import T0


def _entry(reference: str, lot_id: int | None = 7) -> Entry:
    lot = Lot(lot_id, LotSource.PURCHASE, 5, 4, T0, None)
    return Entry(EntryKind.SPEND, lot, -1, 4, T0, reference)


@example(reference='"entry_id":0', entry_id=5)  # the placeholder itself, quoted
@given(
    reference=st.text(min_size=1, max_size=60),
    entry_id=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_the_hot_paths_placeholder_gives_the_payload_built_with_the_id(
    reference: str, entry_id: int
) -> None:
    """The hot path writes a ledger event before its row has an id and puts the id in with
    SQL's replace(): whatever the reference holds, the result is the payload itself."""
    entry = _entry(reference)
    with_placeholder = payload_text(ledger_entry_created("m_1", entry, 0))
    assert entry_id_text(with_placeholder, entry_id) == payload_text(
        ledger_entry_created("m_1", entry, entry_id)
    )


def test_a_ledger_event_holds_the_entry_and_its_lot() -> None:
    event = ledger_entry_created("m_1", _entry("inmail:msg_1"), 42)
    assert (event.type, event.member_id, event.at) == ("ledger.entry_created", "m_1", T0)
    assert json.loads(payload_text(event)) == {
        "entry_id": 42,
        "kind": "spend",
        "lot_id": 7,
        "lot_source": "purchase",
        "amount": -1,
        "balance_after": 4,
        "reference": "inmail:msg_1",
    }


def test_an_entry_on_an_unsaved_lot_has_no_event_yet() -> None:
    with pytest.raises(ValueError, match="save the lot first"):
        ledger_entry_created("m_1", _entry("x", lot_id=None), 1)
