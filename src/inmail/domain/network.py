"""Network rules around messaging: mentions, contact-info visibility, group limits (SPEC §7)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from inmail.domain.text import TextRule

POST_MAX = 3000  # a post or a comment
INVITATION_NOTE_MAX = 300
INTRODUCTION_NOTE_MAX = 1000  # the request's note, and the connector's when forwarding
CONTACT_VALUE_MAX = 300  # an e-mail address, phone number or website
GROUP_NAME_MAX = 200
GROUP_DESCRIPTION_MAX = 2000

POST = TextRule(POST_MAX, multiline=True)
INVITATION_NOTE = TextRule(INVITATION_NOTE_MAX, multiline=True, required=False)
INTRODUCTION_NOTE = TextRule(INTRODUCTION_NOTE_MAX, multiline=True)
FORWARD_NOTE = TextRule(INTRODUCTION_NOTE_MAX, multiline=True, required=False)
CONTACT_VALUE = TextRule(CONTACT_VALUE_MAX)
GROUP_NAME = TextRule(GROUP_NAME_MAX)
GROUP_DESCRIPTION = TextRule(GROUP_DESCRIPTION_MAX, multiline=True, required=False)

# A handle as members choose them (see domain.profile.HANDLE_PATTERN), after an "@" that does not
# follow a letter, digit or one of ._%+- (which would make it part of an e-mail address).
_MENTION = re.compile(r"(?<![\w.%+-])@([a-z0-9][a-z0-9_-]{1,29})(?![a-z0-9_-])", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def mentioned_handles(text: str) -> list[str]:
    """The distinct handles mentioned in ``text``, in order of first mention, lower-cased.

    ``@handle`` inside an e-mail address (``ada@example.com``) or a URL
    (``https://example.com/@ada``) is not a mention. Whether a handle belongs
    to a member is for the caller to check: unknown handles stay plain text.
    """
    urls = [m.span() for m in _URL.finditer(text)]
    found: list[str] = []
    for match in _MENTION.finditer(text):
        if any(start <= match.start() < end for start, end in urls):
            continue
        handle = match.group(1).lower()
        if handle not in found:
            found.append(handle)
    return found


class Visibility(StrEnum):
    ONLY_ME = "only_me"
    CONNECTIONS = "connections"
    NETWORK = "network"
    EVERYONE = "everyone"


CONTACT_FIELDS = ("email", "phone", "website")
DEFAULT_VISIBILITY = {
    "email": Visibility.CONNECTIONS,
    "phone": Visibility.CONNECTIONS,
    "website": Visibility.EVERYONE,
}


def visible_to(visibility: Visibility, *, is_self: bool, degree: int) -> bool:
    """Whether a viewer at ``degree`` (1, 2, 3 = further) may see a field with ``visibility``."""
    if is_self:
        return True
    if visibility is Visibility.EVERYONE:
        return True
    if visibility is Visibility.NETWORK:
        return degree <= 2
    if visibility is Visibility.CONNECTIONS:
        return degree == 1
    return False


def month_start(now: datetime) -> datetime:
    """The start of ``now``'s calendar month in UTC: group-message limits count from here."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
