"""Reading people's text (domain/reading.py): words, folding, language, names."""

from __future__ import annotations

import pytest

from inmail.domain.reading import fold, in_common, looks_english, mentions, name_parts, words


def test_words_keep_inner_apostrophes_dots_and_hyphens() -> None:
    assert [m.group() for m in words("Don't e-mail me 3.5 times — ok?")] == [
        "Don't",
        "e-mail",
        "me",
        "3.5",
        "times",
        "ok",
    ]


def test_a_link_is_one_word() -> None:
    assert [m.group() for m in words("see https://a.example/x?y=1 or www.b.example")] == [
        "see",
        "https://a.example/x?y=1",
        "or",
        "www.b.example",
    ]


def test_each_chinese_or_japanese_character_is_a_word_and_other_scripts_split_on_spaces() -> None:
    assert len(words("山田さん")) == 4
    assert len(words("Привет, как дела")) == 3
    assert len(words("안녕하세요 여러분")) == 2


def test_fold_drops_case_and_accents() -> None:
    assert fold("Zoë ÅNGSTRÖM") == "zoe angstrom"
    assert fold("Straße") == "strasse"


@pytest.mark.parametrize(
    "text",
    ["Hi Ada", "I read your paper and would love to hear more about it.", "Thanks!"],
)
def test_english_is_recognised(text: str) -> None:
    assert looks_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hola Ana, te escribo porque vi tu charla en Madrid.",
        "Hallo Ada, ich habe Ihren Vortrag gesehen.",
        "Ik wil je graag spreken over de functie in ons team.",
        "Ciao Marco, ho visto il tuo intervento a Milano.",
        "山田さん、こんにちは",
        "",
    ],
)
def test_other_languages_are_not_taken_for_english(text: str) -> None:
    assert not looks_english(text)


def test_mentions_find_a_name_where_a_word_starts_case_and_accents_aside() -> None:
    assert mentions("Dear zoe,", "Zoë")
    assert mentions("Привет, Иване!", "Иван")  # an inflected form
    assert not mentions("Annual report", "Nual")
    assert not mentions("anything", "")


def test_in_common_compares_as_people_do_and_keeps_their_spelling() -> None:
    assert in_common(["mit", "Sailing"], ["MIT", "sailing", "chess", " "]) == ("MIT", "sailing")
    assert in_common([""], [""]) == ()


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Dr. Ada King Lovelace, PhD", ("Ada", "Lovelace")),
        ("Cher", ("Cher", "Cher")),
        ("  ", ("", "")),
    ],
)
def test_name_parts_leave_titles_and_suffixes_out(name: str, parts: tuple[str, str]) -> None:
    assert name_parts(name) == parts
