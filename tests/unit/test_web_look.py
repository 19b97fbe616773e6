"""The shared look's rules: a member's initials and avatar colour (inmail.web.look)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.web.look import SWATCHES, initials, swatch


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada Lovelace", "AL"),
        ("Grace Brewster Murray Hopper", "GH"),
        ("Ode", "O"),
        ("  émile   zola ", "ÉZ"),
        ("", "?"),
        ("— ·", "?"),
        ("Dr. Who (retired)", "DW"),
    ],
)
def test_initials_are_the_first_and_last_words_first_letters(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_a_members_colour_is_stable_and_the_colours_are_spread() -> None:
    ids = [f"m_{n:032x}" for n in range(200)]
    assert [swatch(i) for i in ids] == [swatch(i) for i in ids]
    assert {swatch(i) for i in ids} == set(range(SWATCHES))


@given(st.text(max_size=60))
def test_initials_are_two_letters_at_most_and_never_empty(name: str) -> None:
    shown = initials(name)
    # Two letters, each possibly upper-cased into two characters ("ß" → "SS").
    assert 1 <= len(shown) <= 4
    assert not any(c.isspace() for c in shown)
