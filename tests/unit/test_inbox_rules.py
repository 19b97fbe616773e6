"""The inbox's pure rules: views and decline reasons named clearly, notices that say who,
dates that always carry the year."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inmail.domain import dates
from inmail.domain.errors import ValidationError
from inmail.domain.inbox import Box, DeclineReason, box_of, decline_reason_of, notice_text

MOMENT = datetime(2026, 12, 6, 13, 33, 15, 54134, tzinfo=UTC)


def test_dates_name_the_day_with_the_year_and_no_timestamp() -> None:
    assert dates.day(MOMENT) == "6 Dec 2026"
    assert dates.weekday(MOMENT) == "Sun 6 Dec 2026"
    assert dates.day_and_time(MOMENT) == "Sun 6 Dec 2026, 13:33 UTC"


def test_a_box_is_named_or_refused_with_the_choices() -> None:
    assert box_of("awaiting") is Box.AWAITING
    with pytest.raises(ValidationError) as caught:
        box_of("spam")
    assert (str(caught.value), caught.value.field) == (
        "box is one of inbox, sent, awaiting, archived",
        "box",
    )


def test_a_decline_reason_is_optional_and_one_of_three() -> None:
    assert decline_reason_of(None) is None
    assert decline_reason_of("") is None
    assert decline_reason_of("wrong_person") is DeclineReason.WRONG_PERSON
    with pytest.raises(ValidationError) as caught:
        decline_reason_of("rude")
    assert str(caught.value) == "reason is one of not_interested, not_now, wrong_person"


@pytest.mark.parametrize(
    ("kind", "stored", "reason", "shown"),
    [
        ("new_inmail", "New InMail: A role", None, "New InMail from Ada Lovelace: A role"),
        ("new_inmail", "New InMail: follow-up", None, "Follow-up InMail from Ada Lovelace"),
        ("reply", "New reply: Yes!", None, "Ada Lovelace replied: Yes!"),
        ("new_message", "See you", None, "New message from Ada Lovelace: See you"),
        ("group_message", "Welcome", None, "Group message from Ada Lovelace: Welcome"),
        (
            "decline",
            "Your InMail was declined",
            "not_now",
            "Ada Lovelace declined your InMail (not now)",
        ),
        ("decline", "Your InMail was declined", None, "Ada Lovelace declined your InMail"),
        ("mention", "@ada mentioned you: hi", None, "@ada mentioned you: hi"),
    ],
)
def test_a_notice_about_a_thread_says_who(
    kind: str, stored: str, reason: str | None, shown: str
) -> None:
    assert notice_text(kind, stored, "Ada Lovelace", reason) == shown


def test_a_notice_without_a_who_keeps_its_words() -> None:
    assert notice_text("new_inmail", "New InMail: A role", None) == "New InMail: A role"
