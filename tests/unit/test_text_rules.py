"""The one text rule (domain/text.py): controls and invisible-only text refused, one pattern."""

import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.domain.errors import ValidationError
from inmail.domain.text import (
    CONTROLS,
    FORMAT,
    INVISIBLE,
    OTHER_INVISIBLE,
    WHITESPACE,
    TextRule,
    is_clean,
)

ONE_LINE = TextRule(20)
MULTI_LINE = TextRule(20, multiline=True)
OPTIONAL = TextRule(20, required=False)
RULES = [ONE_LINE, MULTI_LINE, OPTIONAL, TextRule(20, multiline=True, required=False)]


def _codes(ranges: tuple[tuple[int, int], ...]) -> set[int]:
    return {code for first, last in ranges for code in range(first, last + 1)}


def test_the_tables_are_the_unicode_database_of_this_python() -> None:
    every = range(sys.maxunicode + 1)
    assert _codes(CONTROLS) == {c for c in every if unicodedata.category(chr(c)) == "Cc"}
    assert _codes(WHITESPACE) == {c for c in every if chr(c).isspace()}
    formats = {c for c in every if unicodedata.category(chr(c)) == "Cf"}
    # The table is Unicode 15.1's; an older Python knows some of its code points as unassigned.
    assert formats <= _codes(FORMAT)
    assert all(unicodedata.category(chr(c)) in {"Cf", "Cn"} for c in _codes(FORMAT) - formats)
    assert all(unicodedata.category(chr(c)) in {"Mn", "Lo", "So"} for c in _codes(OTHER_INVISIBLE))


@pytest.mark.parametrize(
    ("value", "rule", "message"),
    [
        ("\u0000", ONE_LINE, "subject cannot contain control characters or line breaks"),
        ("Hi\u0000", ONE_LINE, "subject cannot contain control characters or line breaks"),
        ("Hi\x7f", ONE_LINE, "subject cannot contain control"),
        ("Hi\x85", ONE_LINE, "subject cannot contain control"),
        ("Hi\nthere", ONE_LINE, "subject cannot contain control characters or line breaks"),
        ("Hi\u0000", MULTI_LINE, "subject cannot contain control characters"),
        ("Hi\x1b[31m", MULTI_LINE, "subject cannot contain control characters"),
        ("Hi\ud800", MULTI_LINE, "subject cannot contain control characters"),
        ("", ONE_LINE, "subject cannot be blank"),
        ("\u200b", ONE_LINE, "subject cannot be blank"),
        ("\ufeff", ONE_LINE, "subject cannot be blank"),
        ("\u2060\u200b \u3000\u00a0", ONE_LINE, "subject cannot be blank"),
        ("\u3164\u2800\ufe0f", ONE_LINE, "subject cannot be blank"),
        ("\U000e0041\U000e007f", ONE_LINE, "subject cannot be blank"),
        (" \r\n\t", MULTI_LINE, "subject cannot be blank"),
        ("\u200b", OPTIONAL, "subject cannot be blank"),
        ("x" * 21, ONE_LINE, "subject is at most 20 characters"),
        ("x" * 21, OPTIONAL, "subject is at most 20 characters"),
    ],
)
def test_refused_text_names_the_field_and_the_reason(
    value: str, rule: TextRule, message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as refused:
        rule.check(value, field="subject")
    assert refused.value.field == "subject"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("Hi", ONE_LINE),
        (" Hi \u200b", ONE_LINE),
        ("x" * 20, ONE_LINE),
        ("😀\ufe0f", ONE_LINE),  # an emoji with its variation selector
        ("Dear Ada,\r\n\tthanks", MULTI_LINE),
        ("", OPTIONAL),
        ("Hi", OPTIONAL),
    ],
)
def test_accepted_text_comes_back_unchanged(value: str, rule: TextRule) -> None:
    assert rule.check(value, field="subject") == value


# Characters from every class the rule tells apart, so short strings cover every case.
SAMPLES = st.sampled_from(
    [
        *("a", "Z", "é", "😀", "\u00a0", " ", "\t", "\n", "\r"),
        *("\x00", "\x1f", "\x7f", "\x9f"),
        *("\u200b", "\ufeff", "\u2060", "\u3164", "\u2800", "\U000e0041", "\u0600", "\u034f"),
    ]
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: repr(r))
@given(value=st.lists(SAMPLES, max_size=20).map("".join))
def test_the_published_pattern_accepts_exactly_what_the_rule_accepts(
    rule: TextRule, value: str
) -> None:
    try:
        rule.check(value, field="f")
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert accepted == bool(re.fullmatch(rule.pattern, value))


def test_the_pattern_is_anchored_and_portable() -> None:
    for rule in RULES:
        assert rule.pattern.startswith("^")
        assert rule.pattern.endswith("$")
        # \uXXXX escapes for the BMP; no \U escapes, which ECMA-262 regexes do not read.
        assert "\\U" not in rule.pattern


def test_clean_means_no_control_character_and_no_line_break() -> None:
    assert is_clean("Ada Lovelace")
    assert not is_clean("Ada\x00")
    assert not is_clean("Ada\n")
    assert len(INVISIBLE) == len(WHITESPACE) + len(FORMAT) + len(OTHER_INVISIBLE)
