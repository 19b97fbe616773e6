"""A member's profile as they describe themself: handle, name, headline, company, school, interests.

docs/rules.md "Requests": handles are 2-30 lower-case letters, digits, ``_`` or
``-``, starting with a letter or digit. The texts follow the text rule
(:mod:`inmail.domain.text`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
