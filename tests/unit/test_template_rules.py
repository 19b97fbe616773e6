"""The template grammar, rendering for one recipient, the values of placeholders, variants and
the response counts per template (domain/templates.py): no database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.domain.errors import TemplatePlaceholderMissing, TemplateSyntaxError, ValidationError
from inmail.domain.templates import (
    GRAMMAR_PATTERN,
    PLACEHOLDERS,
    Letter,
    Placeholder,
    Profile,
    Recipient,
    Source,
    TemplateSend,
    TemplateText,
    Variant,
    alternate,
    check_template,
    count_responses,
    escape,
    fill,
    parse,
    render,
    same_text,
    source_of,
    split_name,
    values_for,
)
from tests.conftest import T0

ADA = Recipient("m_ada", "ada")
EVERY_VALUE = {name: f"<{name}>" for name in PLACEHOLDERS}


def rendered_body(body: str, values: dict[str, str]) -> str:
    return render(Letter("Hello", body), values, ADA).body


# ---- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PLACEHOLDERS)
def test_every_placeholder_renders_its_value(name: str) -> None:
    assert rendered_body(f"[{{{name}}}]", EVERY_VALUE) == f"[<{name}>]"


@pytest.mark.parametrize("name", PLACEHOLDERS)
def test_every_placeholder_without_a_value_renders_its_fallback(name: str) -> None:
    assert rendered_body(f"[{{{name}|the fallback}}]", {}) == "[the fallback]"


def test_a_placeholder_with_a_value_ignores_its_fallback() -> None:
    assert rendered_body("at {company|your team}", {"company": "Acme"}) == "at Acme"


def test_an_empty_fallback_leaves_the_placeholder_out() -> None:
    assert rendered_body("Hi{first_name|}!", {}) == "Hi!"


def test_a_fallback_may_hold_a_bar_and_spaces() -> None:
    assert rendered_body("{company| a | b }", {}) == " a | b "


def test_doubled_braces_are_literal_braces() -> None:
    assert rendered_body("{{first_name}} is {first_name} {{}}", {"first_name": "Ada"}) == (
        "{first_name} is Ada {}"
    )


def test_a_placeholder_between_escaped_braces() -> None:
    assert rendered_body("{{{first_name}}}", {"first_name": "Ada"}) == "{Ada}"


def test_parse_gives_literal_runs_and_placeholders_with_their_offsets() -> None:
    parsed = parse("Hi {first_name}, at {company|your team}", field="body")
    assert parsed.problems == ()
    assert parsed.parts == (
        "Hi ",
        Placeholder("first_name", None, 3),
        ", at ",
        Placeholder("company", "your team", 20),
    )


def test_an_unknown_placeholder_is_reported_with_its_position() -> None:
    parsed = parse("Dear {nickname}", field="subject")
    (problem,) = parsed.problems
    assert (problem.field, problem.offset, problem.line, problem.column) == ("subject", 5, 1, 6)
    assert "unknown placeholder {nickname}" in problem.message
    assert "{first_name}" in problem.message  # it lists the known ones


def test_lines_and_columns_count_from_one_after_line_breaks() -> None:
    (problem,) = parse("Hello,\n\nwe met at {conference}.", field="body").problems
    assert (problem.offset, problem.line, problem.column) == (18, 3, 11)


def test_a_misspelt_placeholder_gets_a_suggestion() -> None:
    (spaces,) = parse("{ first_name }", field="body").problems
    assert "did you mean {first_name}?" in spaces.message
    (capitals,) = parse("{Company}", field="body").problems
    assert "did you mean {company}?" in capitals.message


def test_an_empty_placeholder_is_a_problem() -> None:
    (problem,) = parse("a {} b", field="body").problems
    assert problem.offset == 2
    assert "empty placeholder" in problem.message


def test_an_unclosed_brace_is_a_problem_where_it_opens() -> None:
    (problem,) = parse("Hi {first_name", field="body").problems
    assert problem.offset == 3
    assert "'{{'" in problem.message


def test_a_placeholder_cannot_span_a_line_break() -> None:
    problems = parse("Hi {first\n_name}", field="body").problems
    assert [p.offset for p in problems] == [3, 15]  # the '{' never closes; the '}' is stray


def test_a_stray_closing_brace_is_a_problem() -> None:
    (problem,) = parse("50% off} today", field="body").problems
    assert (problem.offset, problem.column) == (7, 8)
    assert "'}}'" in problem.message


def test_a_brace_inside_a_placeholder_is_a_problem() -> None:
    problems = parse("{company|{x}}", field="body").problems
    assert problems[0].offset == 0  # the outer '{' meets another '{' before its '}'


def test_every_problem_is_reported_at_once() -> None:
    problems = parse("{a} and {b} and } and {", field="body").problems
    assert [p.offset for p in problems] == [0, 8, 16, 22]


# ---- saving --------------------------------------------------------------------------------


def test_a_template_lists_every_problem_of_every_field() -> None:
    text = TemplateText(Letter("{x}", "fine"), Letter("ok", "line\n{y"))
    with pytest.raises(TemplateSyntaxError) as refused:
        check_template("Outreach", text)
    problems = refused.value.problems
    assert [(p.field, p.offset, p.line, p.column) for p in problems] == [
        ("subject", 0, 1, 1),
        ("variants.b.body", 5, 2, 1),
    ]
    assert refused.value.field == "subject"
    assert refused.value.code == "validation-error"
    assert refused.value.message.startswith("subject, line 1, column 1: unknown placeholder {x}")
    assert "; variants.b.body, line 2, column 1: a '{' that opens no placeholder" in (
        refused.value.message
    )


def test_a_template_follows_the_text_rules_of_an_inmail() -> None:
    with pytest.raises(ValidationError) as refused:
        check_template("Outreach", TemplateText(Letter("x" * 201, "body")))
    assert refused.value.field == "subject"
    with pytest.raises(ValidationError) as refused:
        check_template("Outreach", TemplateText(Letter("s", "b"), Letter("s", " ")))
    assert refused.value.field == "variants.b.body"
    with pytest.raises(ValidationError) as refused:
        check_template("  ", TemplateText(Letter("s", "b")))
    assert refused.value.field == "name"


def test_a_valid_template_passes() -> None:
    text = TemplateText(Letter("Hi {first_name|there}", "{{braces}} at {company}"))
    check_template("Outreach", text)


# ---- rendering -----------------------------------------------------------------------------


def test_missing_placeholders_are_named_with_their_field_and_the_recipient() -> None:
    letter = Letter("For {company}", "Hi {first_name} {last_name}, {company}")
    with pytest.raises(TemplatePlaceholderMissing) as refused:
        render(letter, {"first_name": "Ada"}, ADA)
    missing = [(m.placeholder, m.field) for m in refused.value.missing]
    assert missing == [("company", "subject"), ("last_name", "body"), ("company", "body")]
    assert refused.value.recipient == "m_ada"
    assert refused.value.code == "template-placeholder-missing"
    assert "@ada" in refused.value.message
    assert "{last_name} (in the body)" in refused.value.message


def test_a_blank_value_is_no_value() -> None:
    with pytest.raises(TemplatePlaceholderMissing):
        render(Letter("s", "at {company}"), {"company": "   "}, ADA)
    assert rendered_body("at {company|home}", {"company": " "}) == "at home"


def test_a_rendered_text_over_the_limit_is_refused_naming_the_recipient() -> None:
    letter = Letter("About {headline}", "x")
    with pytest.raises(ValidationError) as refused:
        render(letter, {"headline": "h" * 195}, ADA)
    assert refused.value.field == "subject"
    assert "@ada" in refused.value.message
    assert "at most 200" in refused.value.message


def test_a_render_that_leaves_nothing_visible_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        render(Letter("s", "{company|}"), {}, ADA)
    assert refused.value.field == "body"


def test_fill_reports_each_missing_placeholder_once() -> None:
    text, missing = fill(parse("{company} {school} {company}", field="body").parts, {})
    assert missing == ("company", "school")
    assert text == "  "


# Texts without control characters, as the text rule allows.
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)
VALUE = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(
    lambda v: bool(v.strip())
)


@given(TEXT)
def test_escaped_text_renders_to_itself(text: str) -> None:
    parsed = parse(escape(text), field="body")
    assert parsed.problems == ()
    assert fill(parsed.parts, EVERY_VALUE) == (text, ())


# Texts made mostly of the grammar's own pieces, so that valid and invalid ones both occur.
PIECES = st.lists(
    st.sampled_from(["{", "}", "|", "a", " ", "\n", "x", *PLACEHOLDERS, "First_Name"]),
    max_size=12,
).map("".join)


@given(PIECES)
def test_the_published_pattern_accepts_exactly_what_parse_accepts(text: str) -> None:
    valid = not parse(text, field="body").problems
    assert valid == bool(re.fullmatch(GRAMMAR_PATTERN, text))


@given(TEXT)
def test_parsing_never_fails_and_points_at_a_brace(text: str) -> None:
    for problem in parse(text, field="body").problems:
        assert text[problem.offset] in "{}"


# A template built from literal text (escaped) and placeholders with or without fallbacks.
PART = st.one_of(
    TEXT.map(escape),
    st.builds(
        lambda name, fallback: "{" + name + ("" if fallback is None else "|" + fallback) + "}",
        st.sampled_from(PLACEHOLDERS),
        st.none() | st.text(st.characters(blacklist_characters="{}\r\n"), max_size=10),
    ),
)


@given(st.lists(PART, max_size=8), st.dictionaries(st.sampled_from(PLACEHOLDERS), VALUE))
def test_rendering_leaves_no_placeholder_unrendered(
    parts: list[str], values: dict[str, str]
) -> None:
    source = "".join(parts)
    parsed = parse(source, field="body")
    assert parsed.problems == ()
    text, missing = fill(parsed.parts, values)
    used = {p.name for p in parsed.placeholders}
    unfilled = {p.name for p in parsed.placeholders if p.fallback is None} - set(values)
    assert set(missing) == unfilled
    assert set(missing) <= used
    if not missing:
        # Rendering again, with every brace of the result escaped, gives it back unchanged:
        # nothing in it is a placeholder still waiting for a value.
        assert fill(parse(escape(text), field="body").parts, {}) == (text, ())


@given(st.dictionaries(st.sampled_from(PLACEHOLDERS), VALUE))
def test_a_placeholder_renders_its_value_stripped_or_its_fallback(values: dict[str, str]) -> None:
    for name in PLACEHOLDERS:
        text, missing = fill(parse("{" + name + "|-}", field="body").parts, values)
        assert missing == ()
        assert text == (values[name].strip() if name in values else "-")


# ---- the values ----------------------------------------------------------------------------


def test_names_split_at_the_first_word() -> None:
    assert split_name("Ada Lovelace") == ("Ada", "Lovelace")
    assert split_name("  Mary  Ann   Evans ") == ("Mary", "Ann Evans")
    assert split_name("Plato") == ("Plato", "")


def test_a_one_word_name_has_no_last_name() -> None:
    values = values_for(Profile("Grace Hopper"), Profile("Plato"))
    assert values["first_name"] == "Plato"
    assert "last_name" not in values
    with pytest.raises(TemplatePlaceholderMissing):
        render(Letter("s", "Dear {first_name} {last_name}"), values, ADA)


def test_the_values_come_from_the_recipients_profile_and_the_senders_name() -> None:
    sender = Profile("Grace Hopper", school="Yale", interests=("Chess", "compilers"))
    recipient = Profile(
        "Ada Lovelace",
        headline="Analyst",
        company="Engines Ltd",
        school="yale ",
        interests=("Poetry", "COMPILERS", "chess"),
    )
    values = values_for(sender, recipient, shared_group="Rust", mutual_connection="Alan Turing")
    assert values == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Engines Ltd",
        "school": "yale",
        "headline": "Analyst",
        "my_name": "Grace Hopper",
        "shared_group": "Rust",
        "mutual_connection": "Alan Turing",
        "shared_school": "yale",  # the recipient's spelling
        "shared_interest": "COMPILERS",  # the first of the recipient's, as they wrote it
    }


def test_nothing_shared_means_no_shared_values() -> None:
    values = values_for(Profile("A b", school=""), Profile("C d", school=""))
    for name in ("shared_group", "shared_school", "shared_interest", "mutual_connection"):
        assert name not in values
    for name in ("company", "school", "headline"):
        assert name not in values


def test_same_text_ignores_case_and_spacing_but_not_emptiness() -> None:
    assert same_text("MIT", " mit ")
    assert same_text("New  York", "new york")
    assert not same_text("", "")
    assert not same_text("MIT", "Caltech")


# ---- variants and sources ------------------------------------------------------------------


def test_a_template_without_b_has_no_variant_b() -> None:
    text = TemplateText(Letter("a", "a"))
    assert text.variant(Variant.A) == Letter("a", "a")
    with pytest.raises(ValidationError) as refused:
        text.variant(Variant.B)
    assert refused.value.field == "variant"


def test_a_bulk_send_alternates_the_variants_when_there_is_a_b() -> None:
    with_b = TemplateText(Letter("a", "a"), Letter("b", "b"))
    without = TemplateText(Letter("a", "a"))
    assert [alternate(i, with_b) for i in range(4)] == [Variant.A, Variant.B] * 2
    assert [alternate(i, without) for i in range(3)] == [Variant.A] * 3


def test_a_send_takes_subject_and_body_or_a_template() -> None:
    assert source_of("s", "b", None, None) == Source("s", "b")
    assert source_of(None, None, "tpl_1", None) == Source(template_id="tpl_1")
    assert source_of(None, None, "tpl_1", Variant.B).variant == Variant.B


@pytest.mark.parametrize(
    ("subject", "body", "template_id", "variant", "field"),
    [
        ("s", None, "tpl_1", None, "template_id"),
        (None, "b", "tpl_1", None, "template_id"),
        (None, None, None, None, "subject"),
        ("s", None, None, None, "body"),
        (None, "b", None, None, "subject"),
        ("s", "b", None, Variant.B, "variant"),
    ],
)
def test_a_send_with_both_or_neither_is_refused_naming_the_field(
    subject: str | None,
    body: str | None,
    template_id: str | None,
    variant: Variant | None,
    field: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        source_of(subject, body, template_id, variant)
    assert refused.value.field == field


def test_a_template_send_is_keyed_by_template_and_variant_not_by_its_text() -> None:
    assert Source(template_id="tpl_1").request("m_2") == {
        "to": "m_2",
        "template_id": "tpl_1",
        "variant": "a",
    }
    assert Source("s", "b").request("m_2") == {"to": "m_2", "subject": "s", "body": "b"}


# ---- response counts -----------------------------------------------------------------------


def _send(
    days_ago: float, answered_after: float | None = None, outcome: str | None = None
) -> TemplateSend:
    sent = T0 - timedelta(days=days_ago)
    responded = None if answered_after is None else sent + timedelta(days=answered_after)
    return TemplateSend(sent, responded, outcome)


def test_counts_follow_the_30_day_window() -> None:
    sends = [
        _send(40, 2, "answered"),  # answered in time
        _send(5, 1, "declined"),  # declined in time, though recent
        _send(60, 31, "answered"),  # answered too late: counted, not a response
        _send(45),  # no response in 30 days
        _send(10),  # still pending: not counted yet
    ]
    counts = count_responses(sends, T0)
    assert (counts.sent, counts.answered, counts.declined) == (5, 1, 1)
    assert (counts.pending_under_30_days, counts.no_response, counts.counted) == (1, 2, 4)
    assert counts.response_rate == 0.5


def test_no_counted_inmail_means_no_rate() -> None:
    counts = count_responses([_send(3)], T0)
    assert counts.response_rate is None
    assert (counts.sent, counts.pending_under_30_days) == (1, 1)
    assert count_responses([], T0).response_rate is None


def test_one_answered_inmail_is_a_rate_of_one_out_of_one() -> None:
    counts = count_responses([_send(1, 0.5, "answered")], T0)
    assert (counts.response_rate, counts.counted, counts.sent) == (1.0, 1, 1)
