"""The message coach's rules (SPEC §8), each firing and not firing, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from inmail.domain.coach import (
    DEFAULT_THRESHOLDS,
    Awaiting,
    Draft,
    DraftField,
    Facts,
    Severity,
    Span,
    Thresholds,
    Tip,
    TipCode,
    awaiting,
    coach,
)
from inmail.domain.messaging import Channel, Route
from inmail.domain.plans import DEFAULT_PLANS

NOW = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
PAID_INMAIL = Route(Channel.INMAIL, 1, "InMail costs 1 credit(s)")
ADA = Facts(name="Ada Lovelace", first_name="Ada", last_name="Lovelace", route=PAID_INMAIL)
GOOD_BODY = (
    "Hi Ada,\nI'm writing because your talk on analytical engines changed how our team "
    "builds compilers. Would you have 15 minutes for a call next week?"
)
GOOD = Draft("Your talk on analytical engines", GOOD_BODY)


def tips(
    draft: Draft, facts: Facts | None = ADA, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Tip]:
    return coach(draft, facts, thresholds, NOW)


def tip(code: TipCode, draft: Draft, facts: Facts | None = ADA, **limits: int) -> Tip | None:
    """The tip of ``code`` for this draft, if the coach gives it."""
    found = [t for t in tips(draft, facts, replace(DEFAULT_THRESHOLDS, **limits)) if t.code == code]
    assert len(found) <= 1
    return found[0] if found else None


def body(text: str) -> Draft:
    return Draft(GOOD.subject, text)


def test_a_good_draft_gets_no_tip() -> None:
    assert tips(GOOD) == []
    assert tips(GOOD, facts=None) == []


def test_an_empty_draft_without_a_recipient_gets_no_tip() -> None:
    assert tips(Draft("", "")) == []
    assert tips(Draft("", ""), facts=None) == []


def test_tips_come_warnings_first_then_suggestions_then_notes() -> None:
    facts = replace(ADA, route=Route(Channel.OPEN_PROFILE, 0, "open"))
    draft = Draft("Hello", "Dear Sir or Madam, {first_name} here. " + "Hola amigo mío, " * 3)
    found = [t.severity for t in tips(draft, facts)]
    assert found == sorted(found, key=[Severity.WARNING, Severity.SUGGESTION, Severity.INFO].index)
    assert found[0] == Severity.WARNING
    assert found[-1] == Severity.INFO


# --- name-missing --------------------------------------------------------------------------


def test_name_missing_when_neither_first_nor_last_name_is_written() -> None:
    found = tip(TipCode.NAME_MISSING, body("Hello,\nwould you have 15 minutes because of X?"))
    assert found is not None
    assert found.severity == Severity.SUGGESTION
    assert "Ada Lovelace's name is not in your message" in found.text
    assert "“Hi Ada,”" in found.text


@pytest.mark.parametrize(
    "text",
    [
        "Hi Ada, would you have a minute?",
        "Dear Ms Lovelace, would you have a minute?",
        "hi ada, would you have a minute?",  # case aside
        "Hi Adaline? no: Ada's work, would you?",  # where a word starts, inflected or not
    ],
)
def test_name_missing_not_when_the_name_is_there(text: str) -> None:
    assert tip(TipCode.NAME_MISSING, body(text)) is None


def test_name_in_the_subject_counts_and_accents_do_not_matter() -> None:
    zoe = replace(ADA, name="Zoë Ångström", first_name="Zoë", last_name="Ångström")
    assert tip(TipCode.NAME_MISSING, Draft("For Zoe", "Hello, a question?"), zoe) is None
    assert tip(TipCode.NAME_MISSING, body("Dear ANGSTROM, a question?"), zoe) is None


def test_a_name_in_japanese_is_found_without_spaces() -> None:
    yamada = replace(ADA, name="山田 太郎", first_name="山田", last_name="太郎")
    assert tip(TipCode.NAME_MISSING, body("山田さん、こんにちは"), yamada) is None
    assert tip(TipCode.NAME_MISSING, body("こんにちは"), yamada) is not None


def test_name_missing_only_with_a_recipient_and_a_body() -> None:
    assert tip(TipCode.NAME_MISSING, body("Hello, a question?"), facts=None) is None
    assert tip(TipCode.NAME_MISSING, Draft("Hello", "")) is None
    assert tip(TipCode.NAME_MISSING, Draft("Hello", " \n ")) is None


# --- message-long --------------------------------------------------------------------------


def test_message_long_says_how_many_words_and_points_past_the_limit() -> None:
    text = GOOD_BODY + " more" * 140  # 26 + 140 words
    found = tip(TipCode.MESSAGE_LONG, body(text))
    assert found is not None
    assert "Your message is 166 words; aim for 150 or fewer" in found.text
    assert "read to the end" in found.text  # why brevity matters
    assert found.span is not None
    assert found.span.field == DraftField.BODY
    assert text[found.span.start :].split()[0] == "more"
    assert len(text[: found.span.start].split()) == 150  # the excess starts at word 151
    assert found.span.end == len(text)


def test_message_long_not_at_the_limit_and_the_limit_is_a_setting() -> None:
    text = " ".join(["word"] * 150)
    assert tip(TipCode.MESSAGE_LONG, body(text)) is None
    assert tip(TipCode.MESSAGE_LONG, body(text), long_message_words=149) is not None


def test_each_chinese_character_counts_as_a_word() -> None:
    text = "你" * 151
    assert tip(TipCode.MESSAGE_LONG, body(text)) is not None
    assert tip(TipCode.MESSAGE_LONG, body("你" * 150)) is None


# --- no-reason -----------------------------------------------------------------------------


def test_no_reason_when_nothing_says_why() -> None:
    found = tip(TipCode.NO_REASON, body("Hi Ada, I have a job for you. Would you like a call?"))
    assert found is not None
    assert "does not say why you are writing to them in particular" in found.text


@pytest.mark.parametrize(
    "text",
    [
        "Hi Ada, I write because of your engines. A call?",
        "Hi Ada, since we both love engines, a call?",
        "Hi Ada, I read your paper on engines. A call?",
        "Hi Ada, as a fellow engineer: a call?",
    ],
)
def test_no_reason_not_when_a_reason_is_given(text: str) -> None:
    assert tip(TipCode.NO_REASON, body(text)) is None


def test_no_reason_names_what_the_pair_has_in_common() -> None:
    shared = replace(
        ADA,
        shared_groups=("Rust Berlin",),
        shared_schools=("MIT",),
        shared_interests=("sailing",),
        mutual_connections=("Bob Middle",),
    )
    found = tip(TipCode.NO_REASON, body("Hi Ada, I have a job for you. A call?"), shared)
    assert found is not None
    assert "the group “Rust Berlin”, MIT, an interest in sailing and Bob Middle" in found.text


@pytest.mark.parametrize("named", ["rust berlin", "MIT", "Sailing", "Bob"])
def test_no_reason_not_when_shared_context_is_mentioned(named: str) -> None:
    shared = replace(
        ADA,
        shared_groups=("Rust Berlin",),
        shared_schools=("MIT",),
        shared_interests=("sailing",),
        mutual_connections=("Bob Middle",),
    )
    draft = body(f"Hi Ada, {named} here and there. I have a job for you. A call?")
    assert tip(TipCode.NO_REASON, draft, shared) is None


def test_no_reason_is_not_judged_in_another_language() -> None:
    spanish = "Hola Ada, tengo un puesto para ti en Madrid. Hablamos la semana que viene."
    assert tip(TipCode.NO_REASON, body(spanish)) is None


# --- no-question ---------------------------------------------------------------------------


def test_no_question_when_the_body_asks_nothing() -> None:
    found = tip(TipCode.NO_QUESTION, body("Hi Ada, I admire your work on the engine."))
    assert found is not None
    assert "asks nothing" in found.text


@pytest.mark.parametrize(
    "text",
    [
        "Hi Ada, I admire your work. Is it open source?",
        "Hi Ada, I admire your work. Let me know if you have time.",
        "Hi Ada, I admire your work. Happy to chat next week.",
        "Hola Ada, ¿tienes tiempo el lunes",  # any script's question mark
        "Ада, вы свободны?",
        "山田さん、来週お時間ありますか\uff1f",  # the fullwidth question mark
        "هل لديك وقت؟",
        "Έχεις χρόνο\u037e",  # the Greek question mark
    ],
)
def test_no_question_not_when_there_is_a_question_or_a_request(text: str) -> None:
    assert tip(TipCode.NO_QUESTION, body(text)) is None


def test_no_question_is_not_judged_in_another_language() -> None:
    german = "Hallo Ada, ich habe Ihren Vortrag gesehen. Ich würde mich über ein Gespräch freuen."
    assert tip(TipCode.NO_QUESTION, body(german)) is None
    assert tip(TipCode.NO_QUESTION, Draft("Hi", "")) is None


# --- generic-opening -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "opening",
    [
        "Dear Sir or Madam",
        "Dear Sir/Madam",
        "To whom it may concern",
        "Hi there",
        "Hello there",
        "I hope this message finds you well",
        "I hope this finds you well",
        "I hope you're doing well",
        "Dear Hiring Manager",
        "My name is",
    ],
)
def test_generic_opening_is_quoted_and_pointed_at(opening: str) -> None:
    text = f"\n{opening}, Ada. Would you have a minute?"
    found = tip(TipCode.GENERIC_OPENING, body(text))
    assert found is not None
    assert found.span is not None
    assert found.span.field == DraftField.BODY
    assert text[found.span.start : found.span.end] == opening
    assert f"“{opening}” could open a message to anyone" in found.text


@pytest.mark.parametrize(
    "text",
    [
        GOOD_BODY,
        "Hi Ada, there is a role here. Would you like it?",  # "Hi" and "there" apart
        "Hi Ada,\nour hiring manager, Dear Bob, would like to meet you?",
        "Hi Ada, " + "x " * 200 + "I hope this finds you well.",  # past the opening lines
    ],
)
def test_generic_opening_not_for_a_personal_one(text: str) -> None:
    assert tip(TipCode.GENERIC_OPENING, body(text)) is None


# --- subject-long and subject-capitals ----------------------------------------------------


def test_subject_long_over_the_threshold_points_at_what_may_be_cut_off() -> None:
    subject = "A question about your analytical engine and our compiler team in Lyon"
    found = tip(TipCode.SUBJECT_LONG, Draft(subject, GOOD_BODY))
    assert found is not None
    assert f"The subject is {len(subject)} characters" in found.text
    assert "about the first 60" in found.text
    assert found.span == Span(DraftField.SUBJECT, 60, len(subject))


def test_subject_long_not_at_the_threshold_and_the_threshold_is_a_setting() -> None:
    subject = "x" * 60
    assert tip(TipCode.SUBJECT_LONG, Draft(subject, GOOD_BODY)) is None
    assert tip(TipCode.SUBJECT_LONG, Draft(subject, GOOD_BODY), subject_max_chars=59) is not None


def test_subject_in_capitals_points_at_the_capitals() -> None:
    subject = "Re: URGENT OPPORTUNITY"
    found = tip(TipCode.SUBJECT_CAPITALS, Draft(subject, GOOD_BODY))
    assert found is not None
    assert "reads as shouting" in found.text
    assert found.span is not None
    assert (found.span.start, found.span.end) == (0, len(subject))
    shouted = "Hello, URGENT OPPORTUNITY"
    found = tip(TipCode.SUBJECT_CAPITALS, Draft(shouted, GOOD_BODY), subject_capitals_percent=50)
    assert found is not None
    assert found.span is not None
    assert shouted[found.span.start : found.span.end] == "Hello, URGENT OPPORTUNITY"


@pytest.mark.parametrize(
    "subject",
    [
        "Your CTO role at ACME",  # acronyms in a sentence
        "AI",  # too few letters to tell
        "機械学習のポジションについて",  # no capitals in this script
        "",
    ],
)
def test_subject_capitals_not_for_sentence_case_acronyms_or_uncased_scripts(subject: str) -> None:
    assert tip(TipCode.SUBJECT_CAPITALS, Draft(subject, GOOD_BODY)) is None


def test_subject_capitals_thresholds_are_settings() -> None:
    draft = Draft("Your CTO role at ACME", GOOD_BODY)
    assert tip(TipCode.SUBJECT_CAPITALS, draft, subject_capitals_percent=40) is not None
    assert tip(TipCode.SUBJECT_CAPITALS, Draft("HELLO", GOOD_BODY)) is None
    assert (
        tip(TipCode.SUBJECT_CAPITALS, Draft("HELLO", GOOD_BODY), subject_capitals_min_letters=5)
        is not None
    )


# --- placeholder-left ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "placeholder",
    [
        "{first_name}",
        "{company|your team}",
        "{{first_name}}",
        "[First Name]",
        "[Company]",
        "<name>",
        "%FIRSTNAME%",
        "*|FNAME|*",
    ],
)
def test_placeholder_left_is_named_and_pointed_at(placeholder: str) -> None:
    text = f"Hi Ada, about {placeholder}: would you have a minute?"
    found = tip(TipCode.PLACEHOLDER_LEFT, body(text))
    assert found is not None
    assert found.severity == Severity.WARNING
    assert placeholder in found.text
    assert found.span is not None
    assert text[found.span.start : found.span.end] == placeholder


def test_placeholder_left_in_the_subject_comes_first_and_every_one_is_named() -> None:
    found = tip(TipCode.PLACEHOLDER_LEFT, Draft("For {first_name}", "At [Company], {school}?"))
    assert found is not None
    assert found.span == Span(DraftField.SUBJECT, 4, 16)
    assert "{first_name}, [Company] and {school}" in found.text


@pytest.mark.parametrize(
    "text",
    [
        GOOD_BODY,
        "Hi Ada, a set {1, 2} and 50% off 20%? [see above]",
        "a {b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 0 a b c d e f}?",
    ],
)
def test_placeholder_left_not_for_ordinary_brackets(text: str) -> None:
    assert tip(TipCode.PLACEHOLDER_LEFT, body(text)) is None


# --- many-links ----------------------------------------------------------------------------


def test_many_links_counts_them_and_spans_from_the_first_to_the_last() -> None:
    text = "Hi Ada, see https://a.example/x, www.b.example and http://c.example/y?z=1. A call?"
    found = tip(TipCode.MANY_LINKS, body(text))
    assert found is not None
    assert "Your message has 3 links (more than 2)" in found.text
    assert found.span is not None
    assert text[found.span.start : found.span.end].startswith("https://a.example/x")
    assert text[found.span.start : found.span.end].endswith("http://c.example/y?z=1.")


def test_many_links_not_at_the_threshold_and_the_threshold_is_a_setting() -> None:
    text = "Hi Ada, see https://a.example and https://b.example. A call?"
    assert tip(TipCode.MANY_LINKS, body(text)) is None
    found = tip(TipCode.MANY_LINKS, body(text), max_links=0)
    assert found is not None
    assert found.text.startswith("Your message has 2 links. Keep links for the conversation:")


# --- free-route ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "severity", "said"),
    [
        (Channel.MESSAGE, Severity.WARNING, "You are connected with Ada: a message"),
        (Channel.CONVERSATION, Severity.WARNING, "open conversation with Ada"),
        (Channel.GROUP_MESSAGE, Severity.WARNING, "both in the group “Rust Berlin”"),
        (Channel.OPEN_PROFILE, Severity.INFO, "Ada's profile is open: an InMail to them costs no"),
    ],
)
def test_free_route_names_the_route(channel: Channel, severity: Severity, said: str) -> None:
    facts = replace(ADA, route=Route(channel, 0, "free"), shared_groups=("Rust Berlin",))
    found = tip(TipCode.FREE_ROUTE, GOOD, facts)
    assert found is not None
    assert found.severity == severity
    assert said in found.text


def test_free_route_suggests_an_introduction_through_a_mutual_connection() -> None:
    facts = replace(ADA, mutual_connections=("Bob Middle", "Cy Dee", "Eve Eff"))
    found = tip(TipCode.FREE_ROUTE, GOOD, facts)
    assert found is not None
    assert found.severity == Severity.SUGGESTION
    assert found.text.startswith("Bob Middle or Cy Dee knows both you and Ada: ask for an")


def test_free_route_suggests_an_introduction_also_when_inmail_is_refused() -> None:
    facts = replace(ADA, route=None, refusal="no InMail on Basic", mutual_connections=("Bob",))
    assert tip(TipCode.FREE_ROUTE, GOOD, facts) is not None


def test_free_route_not_when_inmail_is_the_only_way_or_the_plan_prices_it_at_zero() -> None:
    assert tip(TipCode.FREE_ROUTE, GOOD) is None
    assert tip(TipCode.FREE_ROUTE, GOOD, facts=None) is None
    free_plan = replace(ADA, route=Route(Channel.INMAIL, 0, "InMail costs 0 credit(s)"))
    assert tip(TipCode.FREE_ROUTE, GOOD, free_plan) is None


# --- awaiting-response ---------------------------------------------------------------------

SENT = NOW - timedelta(days=3)


def test_awaiting_response_says_when_a_follow_up_becomes_possible() -> None:
    facts = replace(ADA, awaiting=Awaiting("th_1", SENT, SENT + timedelta(days=7)))
    found = tip(TipCode.AWAITING_RESPONSE, GOOD, facts)
    assert found is not None
    assert found.severity == Severity.WARNING
    assert "Your InMail of 2026-01-28 09:00 UTC to Ada Lovelace (thread th_1)" in found.text
    assert "a new InMail to them would be refused" in found.text
    assert "a follow-up in that thread is possible from 2026-02-04 09:00 UTC" in found.text


def test_awaiting_response_says_a_follow_up_is_possible_now_after_the_wait() -> None:
    facts = replace(ADA, awaiting=Awaiting("th_1", NOW - timedelta(days=8), NOW))
    found = tip(TipCode.AWAITING_RESPONSE, Draft("", ""), facts)
    assert found is not None
    assert "Write a follow-up in that thread instead: it is possible now" in found.text


def test_awaiting_response_without_a_follow_up_left_says_wait() -> None:
    facts = replace(ADA, awaiting=Awaiting("th_1", SENT, None))
    found = tip(TipCode.AWAITING_RESPONSE, GOOD, facts)
    assert found is not None
    assert "no further follow-up in that thread" in found.text


def test_awaiting_response_not_without_an_awaiting_inmail() -> None:
    assert tip(TipCode.AWAITING_RESPONSE, GOOD) is None
    assert tip(TipCode.AWAITING_RESPONSE, GOOD, facts=None) is None


def test_an_awaiting_inmail_may_follow_up_after_the_plans_wait_within_its_limit() -> None:
    plan = next(p for p in DEFAULT_PLANS if p.code == "premium_business")
    fresh = awaiting("th_1", SENT, SENT, 0, plan)
    assert fresh == Awaiting("th_1", SENT, SENT + timedelta(days=plan.followup_after_days))
    used_up = awaiting("th_1", SENT, NOW, plan.max_followups, plan)
    assert used_up.follow_up_at is None


def test_an_awaiting_inmail_hides_the_introduction_and_the_refusal() -> None:
    facts = replace(
        ADA,
        route=None,
        refusal="your InMail is awaiting",
        mutual_connections=("Bob",),
        awaiting=Awaiting("th_1", SENT, None),
    )
    assert [t.code for t in tips(GOOD, facts)] == [TipCode.AWAITING_RESPONSE]


# --- inmail-refused ------------------------------------------------------------------------


def test_inmail_refused_says_why() -> None:
    facts = replace(ADA, route=None, refusal="this member does not accept InMail from you")
    found = tip(TipCode.INMAIL_REFUSED, Draft("", ""), facts)
    assert found is not None
    assert found.severity == Severity.WARNING
    assert found.text == "This InMail cannot be sent: this member does not accept InMail from you."


def test_inmail_refused_not_when_it_can_be_sent() -> None:
    assert tip(TipCode.INMAIL_REFUSED, GOOD) is None


# --- language-not-checked ------------------------------------------------------------------


def test_language_not_checked_says_which_checks_were_skipped() -> None:
    french = "Bonjour Ada, je vous écris au sujet de votre exposé sur les moteurs."
    found = tip(TipCode.LANGUAGE_NOT_CHECKED, body(french))
    assert found is not None
    assert found.severity == Severity.INFO
    assert "does not look like English" in found.text
    assert tip(TipCode.NO_QUESTION, body(french)) is None


def test_language_not_checked_not_for_english_or_a_few_words() -> None:
    assert tip(TipCode.LANGUAGE_NOT_CHECKED, GOOD) is None
    assert tip(TipCode.LANGUAGE_NOT_CHECKED, body("Bonjour Ada")) is None
