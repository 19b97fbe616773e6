"""A member's profile as they describe themself: handle, name, headline, company, school, interests.

docs/rules.md "Requests": handles are 2-30 lower-case letters, digits, ``_`` or
``-``, starting with a letter or digit. The texts follow the text rule
(:mod:`inmail.domain.text`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inmail.domain.errors import ValidationError
from inmail.domain.text import TextRule

HANDLE_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,29}$"
HANDLE_MAX = 30
NAME_MAX = 200
HEADLINE_MAX = 300
COMPANY_MAX = 200
SCHOOL_MAX = 200
INTEREST_MAX = 100
INTERESTS_MAX = 50  # how many interests a member lists

NAME = TextRule(NAME_MAX)
HEADLINE = TextRule(HEADLINE_MAX, required=False)
COMPANY = TextRule(COMPANY_MAX, required=False)
SCHOOL = TextRule(SCHOOL_MAX, required=False)
INTEREST = TextRule(INTEREST_MAX)

_HANDLE = re.compile(HANDLE_PATTERN)


def check_handle(handle: str) -> str:
    """``handle`` as given (no case folding: the contract publishes the pattern it must match)."""
    if not _HANDLE.fullmatch(handle):
        raise ValidationError(
            "a handle is 2 to 30 lower-case letters, digits, '_' or '-', starting with a "
            "letter or digit",
            field="handle",
        )
    return handle


def check_profile(
    *, name: str, headline: str, company: str, school: str, interests: Sequence[str]
) -> None:
    """Every text of a profile by its rule; ValidationError names the first one refused."""
    NAME.check(name, field="name")
    HEADLINE.check(headline, field="headline")
    COMPANY.check(company, field="company")
    SCHOOL.check(school, field="school")
    if len(interests) > INTERESTS_MAX:
        raise ValidationError(
            f"a member lists at most {INTERESTS_MAX} interests", field="interests"
        )
    for interest in interests:
        INTEREST.check(interest, field="interests")


TIME_ZONE_MAX = 64
TIME_ZONE_PATTERN = r"^[A-Za-z0-9/_+-]+$"  # the characters of IANA names (no dots: no paths)


def check_time_zone(name: object) -> str:
    """An IANA time zone name the system knows (``Europe/Paris``, ``UTC``), as given.

    Times are stored in UTC and only shown in it. ValidationError names ``time_zone``.
    """
    problem = ValidationError(
        "the time zone must be an IANA name such as Europe/Paris or UTC", field="time_zone"
    )
    if not isinstance(name, str) or not name or len(name) > TIME_ZONE_MAX:
        raise problem
    # ZoneInfo would also open file paths ("/etc/x", "../x"): names have no dots, no leading "/".
    if name.startswith("/") or not re.fullmatch(TIME_ZONE_PATTERN, name):
        raise problem
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise problem from None
    return name
