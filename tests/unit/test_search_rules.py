"""The search rules without a database: folding, words, documents, matches, tiers, cursors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.domain.errors import ValidationError
from inmail.domain.search import (
    DEGREE_LABELS,
    MAX_WORDS,
    QUERY_MAX,
    SEQ_MAX,
    Match,
    Position,
    Tier,
    as_handle,
    check_degree,
    decode_position,
    encode_position,
    fold,
    group_document,
    member_document,
    member_search,
    parse_degree,
    text_search,
    words,
)
from inmail.services.search import _short

# --- Folding: case and accents ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("José", "jose"),
        ("MÜLLER", "muller"),
        ("Müller", "muller"),
        ("Straße", "strasse"),
        ("Łódź", "lodz"),
        ("Søren Ødegaard", "soren odegaard"),
        ("Æsir Œuvre", "aesir oeuvre"),
        ("ﬁnance", "finance"),  # a ligature is its letters
        ("\uff21\uff23\uff2d\uff25", "acme"),  # full-width letters are plain ones
        ("İstanbul", "istanbul"),
        ("Dvořák Çelik Núñez", "dvorak celik nunez"),
        ("plain ascii", "plain ascii"),
    ],
)
def test_fold_drops_case_and_accents(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text(max_size=40))
def test_folding_twice_changes_nothing(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(max_size=40))
def test_the_words_of_a_word_are_itself(text: str) -> None:
    for word in words(text):
        assert words(word) == (word,)


def test_words_are_the_letters_and_digits_between_everything_else() -> None:
    assert words("Ada_Lovelace, ada-lovelace @ada C++ 3.14 über") == (
        "ada",
        "lovelace",
        "c",
        "3",
        "14",
        "uber",
    )


def test_a_word_is_cut_at_64_characters() -> None:
    assert words("x" * 100) == ("x" * 64,)


# --- Documents: every word, then the tagged words of each field ----------------------------


def test_a_profile_document_tags_the_words_of_each_field() -> None:
    document = member_document(
        name="José García",
        handle="jose_g",
        headline="Engineer at Acme",
        company="Acme Labs",
        school="Universidad de Sevilla",
        interests=["Machine learning", "Go"],
    )
    plain = [w for w in document if ":" not in w]
    assert plain[:4] == ["jose", "garcia", "g", "engineer"]
    assert {"n:jose", "n:garcia", "n:g", "c:acme", "c:labs", "s:sevilla", "i:go"} <= set(document)
    assert "n:engineer" not in document  # the headline is not the name
    assert "c:engineer" not in document
    assert len(document) == len(set(document))


def test_a_group_document_tags_the_words_of_its_name() -> None:
    document = group_document(name="Rust Zürich", description="Meetups about Rust")
    assert document == ("rust", "zurich", "meetups", "about", "n:rust", "n:zurich")


# --- Matching: each word starts a word of the document --------------------------------------

ADA = member_document(
    name="Ada Lovelace",
    handle="ada",
    headline="Analyst",
    company="Babbage & Co",
    school="",
    interests=["mathematics"],
)


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("ada", True),
        ("ADA LOVE", True),
        ("love ada", True),  # in any order
        ("lovelaces", False),  # a query word must start a word, not hold it
        ("velace", False),
        ("mathematics", True),
        ("math bab", True),  # across fields
        ("ada grace", False),  # every word must be found
    ],
)
def test_every_word_of_the_search_box_must_start_a_word(q: str, found: bool) -> None:
    (_, by_name), (_, elsewhere) = member_search(q=q).tiers()
    assert (by_name.found_in(ADA) or elsewhere.found_in(ADA)) is found


def test_name_matches_come_before_matches_elsewhere() -> None:
    (tier, by_name), (later, elsewhere) = member_search(q="ada").tiers()
    assert (tier, later) == (Tier.NAME, Tier.ELSEWHERE)
    assert (by_name.found_in(ADA), elsewhere.found_in(ADA)) == (True, False)  # found once
    (_, by_name), (_, elsewhere) = member_search(q="analyst").tiers()
    assert (by_name.found_in(ADA), elsewhere.found_in(ADA)) == (False, True)


def test_filters_look_only_at_their_own_field() -> None:
    ((_, company),) = member_search(company="babbage").tiers()
    assert company.found_in(ADA)
    ((_, school),) = member_search(school="babbage").tiers()
    assert not school.found_in(ADA)
    ((_, interest),) = member_search(interest="Math").tiers()
    assert interest.found_in(ADA)
    ((_, in_name),) = member_search(company="ada").tiers()
    assert not in_name.found_in(ADA)


def test_no_words_and_no_filters_finds_everyone() -> None:
    search = member_search()
    assert not search.has_text
    assert search.tiers() == ((Tier.ELSEWHERE, Match(())),)
    assert Match(()).found_in(ADA)


def test_a_search_box_without_a_letter_or_digit_finds_no_one() -> None:
    assert member_search(q="!!! ?").tiers() == ()
    assert member_search(q="").tiers() == ((Tier.ELSEWHERE, Match(())),)  # empty: no search


def test_match_unless_leaves_out_documents_holding_every_word_of_it() -> None:
    match = Match(("ada",), unless=("n:ada", "n:love"))
    assert not match.found_in(("ada", "n:ada", "n:lovelace"))
    assert match.found_in(("ada", "n:ada"))


# --- What the search refuses, naming the parameter -------------------------------------------


@pytest.mark.parametrize("field", ["q", "company", "school", "interest"])
def test_each_parameter_is_refused_by_name(field: str) -> None:
    for bad, said in [
        ("x" * (QUERY_MAX + 1), "at most 200 characters"),
        ("ada\x00", "control characters"),
        ("ada\nlovelace", "line breaks"),
        ("  \u200b ", "blank"),  # as the published pattern: something visible, or nothing
    ]:
        with pytest.raises(ValidationError) as refused:
            member_search(**{field: bad})
        assert refused.value.field == field
        assert said in refused.value.message


def test_only_the_first_ten_words_count() -> None:
    many = " ".join(f"w{i}" for i in range(MAX_WORDS + 5))
    assert member_search(q=many).words == tuple(f"w{i}" for i in range(MAX_WORDS))
    assert member_search(company=many).filters == tuple(f"c:w{i}" for i in range(MAX_WORDS))
    text_search("x" * QUERY_MAX)


# --- Degrees: 1, 2, 3 for the 3rd or further ------------------------------------------------


def test_degrees_are_named_like_the_member_degree_field() -> None:
    assert DEGREE_LABELS == {1: "1st", 2: "2nd", 3: "3rd+"}
    assert [check_degree(d) for d in (None, 1, 2, 3)] == [None, 1, 2, 3]
    for bad in (0, 4, 7, -1):
        with pytest.raises(ValidationError) as refused:
            check_degree(bad)
        assert refused.value.field == "degree"
    assert [parse_degree(t) for t in ("", "1", "2", "3")] == [None, 1, 2, 3]
    for text in ("0", "7", "2nd", " 1", "1.0"):
        with pytest.raises(ValidationError):
            parse_degree(text)


# --- The exact handle ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "handle"),
    [("ada_l", "ada_l"), ("@Ada_L", "ada_l"), ("  ada ", "ada"), ("ada lovelace", None)],
)
def test_the_search_box_read_as_a_handle(q: str, handle: str | None) -> None:
    assert as_handle(q) == handle


# --- Cursors --------------------------------------------------------------------------------


@given(st.sampled_from(Tier), st.integers(min_value=0, max_value=SEQ_MAX))
def test_a_cursor_names_the_position_it_was_made_from(tier: Tier, seq: int) -> None:
    assert decode_position(encode_position(Position(tier, seq))) == Position(tier, seq)


def test_positions_order_by_tier_then_index_order() -> None:
    assert Position(Tier.HANDLE, 9) < Position(Tier.NAME, 1) < Position(Tier.NAME, 2)


@pytest.mark.parametrize(
    "cursor", ["", "xyz", "djE6MQ", encode_position(Position(Tier.NAME, 1))[:-2] + "zz"]
)
def test_a_cursor_not_made_here_is_refused(cursor: str) -> None:
    with pytest.raises(ValidationError) as refused:
        decode_position(cursor)
    assert refused.value.field == "cursor"


def test_a_cursor_past_64_bits_or_of_an_unknown_tier_is_refused() -> None:
    import base64

    for text in (f"p1:1:{SEQ_MAX + 1}", "p1:7:1", "p1:1:²", "p2:1:1", "p1:1"):
        cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        with pytest.raises(ValidationError):
            decode_position(cursor)
    assert decode_position(None) is None


def test_a_name_word_of_one_or_two_letters_is_not_looked_up_as_rare() -> None:
    # Two letters start a few % of all names: PostgreSQL walks rows in order first
    # (services.search._short); a longer word of a name is rare and goes to the index.
    assert _short(Match(("n:ed",)))
    assert _short(Match(("n:e", "c:acme")))
    assert _short(Match(("n:ada", "n:lo")))
    assert not _short(Match(("n:ada",)))
    assert not _short(Match(("n:ada", "c:acme")))
