"""Finding members and groups by the words they wrote (issue 10 §1; docs/rules.md "Finding").

A profile (or a group) is indexed as a *document*: the distinct words of its
texts, folded (case and accents gone, :func:`fold`), plus the same words tagged
with the field they came from (``n:`` name or handle, ``c:`` company, ``s:``
school, ``i:`` interests), so one index answers the search box and the filters.
A query word matches a document word it *starts* (``jo`` finds ``José``), and
every word of a query must match. The databases only look words up; what a
match is lives here (:meth:`Match.found_in` is the reference both engines'
queries are tested against).

Results come in tiers of relevance (:class:`Tier`), and within a tier in the
order the members (groups) were indexed, so a cursor is a (tier, position)
pair that pages without repeats or gaps while others join.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from inmail.domain.errors import ValidationError
from inmail.domain.profile import HANDLE_PATTERN
from inmail.domain.text import TextRule

QUERY_MAX = 200  # characters of the search box and of each filter
MAX_WORDS = 10  # words of the search box, and of each filter, that a search uses
WORD_MAX = 64  # characters of a word kept in the index (and of a query word)
QUERY = TextRule(QUERY_MAX, required=False)

NAME, COMPANY, SCHOOL, INTEREST = "n:", "c:", "s:", "i:"  # tags: which field a word is from

DEGREES = (1, 2, 3)
DEGREE_LABELS = {1: "1st", 2: "2nd", 3: "3rd+"}  # 3: the 3rd degree or further (out of network)

# Letters that carry their accent in the letter itself, so decomposition keeps them apart.
_LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "\u0131": "i", "ŧ": "t", "ŋ": "n"}
    | {"ĸ": "k", "þ": "th", "æ": "ae", "œ": "oe"}
)
_WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" and every other sign separate words
_HANDLE = re.compile(HANDLE_PATTERN)


def fold(text: str) -> str:
    """``text`` without case or accents: ``"MÜLLER"`` and ``"Müller"`` are ``"muller"``.

    Compatibility forms are unified (``ﬁ`` is ``fi``, full-width letters are plain ones),
    case is folded (``ß`` is ``ss``), combining marks are dropped, and the few
    letters whose accent is not a combining mark lose it too (``ø``, ``ł``, ``æ``...).
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(_LETTERS)


@lru_cache(maxsize=65_536)  # profiles repeat their companies, schools, interests and names
def words(text: str) -> tuple[str, ...]:
    """The distinct words of ``text``, folded, in order; each cut to :data:`WORD_MAX`."""
    return _distinct(word[:WORD_MAX] for word in _WORD.findall(fold(text)))


def _distinct(found: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(found))


def _words_of(*texts: str) -> tuple[str, ...]:
    """The distinct words of all ``texts``, in order (as of the texts joined by spaces)."""
    return _distinct(word for text in texts for word in words(text))


def _tagged(tag: str, found: Iterable[str]) -> tuple[str, ...]:
    return tuple(tag + word for word in found)


def member_document(
    *, name: str, handle: str, headline: str, company: str, school: str, interests: Sequence[str]
) -> tuple[str, ...]:
    """What the index holds for a profile: every word, then the tagged words of each field."""
    return (
        _words_of(name, handle, headline, company, school, *interests)
        + _tagged(NAME, _words_of(name, handle))
        + _tagged(COMPANY, words(company))
        + _tagged(SCHOOL, words(school))
        + _tagged(INTEREST, _words_of(*interests))
    )


def group_document(*, name: str, description: str) -> tuple[str, ...]:
    """What the index holds for a group: every word, then the tagged words of its name."""
    return _words_of(name, description) + _tagged(NAME, words(name))


@dataclass(frozen=True, slots=True)
class Match:
    """Words a document must hold, each as the start of one of its words, unless it also
    holds every word of ``unless`` (when given). No words at all: every document."""

    required: tuple[str, ...]
    unless: tuple[str, ...] = ()

    def found_in(self, document: Iterable[str]) -> bool:
        held = tuple(document)
        if not all(_starts_one(word, held) for word in self.required):
            return False
        return not (self.unless and all(_starts_one(word, held) for word in self.unless))


def _starts_one(prefix: str, document: tuple[str, ...]) -> bool:
    return any(word.startswith(prefix) for word in document)


class Tier(IntEnum):
    """How well a result matches, best first."""

    HANDLE = 0  # the search box is the member's handle, exactly
    NAME = 1  # every word of the search box starts a word of the name (or handle)
    ELSEWHERE = 2  # the words are found elsewhere too; and every result of a search without words


def _query_words(value: str, *, field: str) -> tuple[str, ...]:
    """The words a search uses: its first :data:`MAX_WORDS` (as a web search engine, the
    rest are left out: each word costs an index lookup)."""
    QUERY.check(value, field=field)
    return words(value)[:MAX_WORDS]


_DEGREE_IS = "degree is 1, 2 or 3 (3: the 3rd degree or further, out of your network)"


def check_degree(degree: int | None) -> int | None:
    """``degree`` when it is one of :data:`DEGREES` (or None: any); else ValidationError."""
    if degree is not None and degree not in DEGREES:
        raise ValidationError(_DEGREE_IS, field="degree")
    return degree


def parse_degree(text: str) -> int | None:
    """A degree as a form sends it: ``""`` (any) or ``"1"``-``"3"``. Raises ValidationError."""
    if text not in ("", "1", "2", "3"):
        raise ValidationError(_DEGREE_IS, field="degree")
    return int(text) if text else None


@dataclass(frozen=True, slots=True)
class TextSearch:
    """What a search box and its filters ask for, as tiers of :class:`Match`.

    ``words``: of the search box; ``filters``: tagged words every result must hold;
    ``blank``: the search box held something, but no letter or digit (it finds no one).
    """

    words: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    blank: bool = False

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.filters)

    def tiers(self) -> tuple[tuple[Tier, Match], ...]:
        """Each tier after :attr:`Tier.HANDLE` and what its results match; none when blank."""
        if self.blank:
            return ()
        if not self.words:
            return ((Tier.ELSEWHERE, Match(self.filters)),)
        names = _tagged(NAME, self.words)
        return (
            (Tier.NAME, Match(names + self.filters)),
            (Tier.ELSEWHERE, Match(self.words + self.filters, unless=names)),
        )


def text_search(q: str, **filters: tuple[str, str]) -> TextSearch:
    """The search box ``q`` and ``filters`` (parameter name -> (tag, value)), checked.

    Each is empty, or at most :data:`QUERY_MAX` characters on one line without
    control characters and with something visible (:data:`QUERY`, the pattern
    the API publishes); ValidationError names the parameter otherwise. Only the
    first :data:`MAX_WORDS` words of each count.
    """
    found = _query_words(q, field="q")
    tagged: list[str] = []
    for field, (tag, value) in filters.items():
        tagged += _tagged(tag, _query_words(value, field=field))
    return TextSearch(found, tuple(tagged), blank=bool(q) and not found)


def member_search(
    *, q: str = "", company: str = "", school: str = "", interest: str = ""
) -> TextSearch:
    """Members: ``q`` over every field, each filter over its own (see :func:`text_search`)."""
    return text_search(
        q, company=(COMPANY, company), school=(SCHOOL, school), interest=(INTEREST, interest)
    )


def as_handle(q: str) -> str | None:
    """``q`` read as a handle (``@ada_l``, ``Ada_L``: ``ada_l``), or None when it cannot be one."""
    candidate = q.strip().removeprefix("@").lower()
    return candidate if _HANDLE.fullmatch(candidate) else None


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a page ended: the tier, then the result's position in the index."""

    tier: Tier
    seq: int


SEQ_MAX = 2**63 - 1  # the databases' 64-bit integers end here
_NOT_OURS = "cursor is not one this server handed out"
_NUMBER = re.compile(r"[0-9]{1,19}")


def encode_position(position: Position) -> str:
    text = f"p1:{int(position.tier)}:{position.seq}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_position(cursor: str | None) -> Position | None:
    """The :class:`Position` in a cursor of :func:`encode_position`; ValidationError if not."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, tier, seq = text.split(":")
        if version != "p1" or not (_NUMBER.fullmatch(tier) and _NUMBER.fullmatch(seq)):
            raise ValueError(text)
        if int(seq) > SEQ_MAX:
            raise ValueError(seq)
        return Position(Tier(int(tier)), int(seq))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(_NOT_OURS, field="cursor") from None
