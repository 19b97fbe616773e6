"""Reading what people write: words, names, language and mail-merge fields (pure).

Comparisons are as people make them: case and accents aside (:func:`fold`: "Zoë" is
"zoe"). Words are letters and digits with inner apostrophes, dots and hyphens ("don't",
"e-mail" and "3.5" are one word each), and a link is one word; each Chinese or Japanese
character is a word of its own, as word processors count them, since those scripts put no
spaces between words.
Positions are character offsets (Unicode code points) into the text as given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Chinese and Japanese characters: each one counts as a word (no spaces between words).
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
_LETTERS = rf"(?:(?![{CJK}])[^\W_])+"  # letters and digits of a script with spaces
_WORD = re.compile(rf"\b(?:https?://|www\.)\S+|[{CJK}]|{_LETTERS}(?:['\u2019.-]{_LETTERS})*")
# Common English words (apostrophes as '), rare in the other languages written in Latin letters.
_ENGLISH_WORDS = frozenset(
    (
        *("the", "and", "you", "your", "you're", "i'm", "i've", "i'd", "i'll", "we're"),
        *("with", "that", "this", "would", "could", "should", "have", "are", "for", "of"),
        *("about", "our", "hi", "hello", "dear", "thanks", "thank", "what", "when", "how"),
        *("my", "is", "it", "to", "in", "a", "an", "i", "we", "be", "will", "can", "if"),
        *("at", "on", "as", "not", "but", "so"),
    )
)
ENGLISH_SHARE = 0.2  # of a text's words among the common English ones above: it is English


def words(text: str) -> list[re.Match[str]]:
    """The words of ``text`` in order (see the module's docstring for what a word is)."""
    return list(_WORD.finditer(text))


def fold(text: str) -> str:
    """``text`` for comparing as people do: no case, no accents (é = e, Ö = o)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def looks_english(text: str) -> bool:
    """Whether a fifth or more of the words are common English ones (the, you, and, to...)."""
    found = [fold(m.group()).replace("\u2019", "'") for m in words(text)]
    common = sum(1 for word in found if word in _ENGLISH_WORDS)
    return common > 0 and common >= ENGLISH_SHARE * len(found)


def mentions(text: str, name: str) -> bool:
    """Whether ``name`` is in ``text`` (case and accents aside) where a word starts.

    A name written in Chinese or Japanese characters may be anywhere (no spaces mark
    its start: 山田さん). Only the start is matched, so an inflected form still counts.
    """
    wanted = fold(name).strip()
    if not wanted:
        return False
    folded = fold(text)
    if re.search(f"[{CJK}]", wanted):
        return wanted in folded
    return re.search(rf"(?<![^\W_]){re.escape(wanted)}", folded) is not None


def in_common(mine: Sequence[str], theirs: Sequence[str]) -> tuple[str, ...]:
    """Of ``theirs``, those also in ``mine`` (case and accents aside), in their spelling."""
    folded = {fold(value).strip() for value in mine}
    shared = [value for value in theirs if value.strip() and fold(value).strip() in folded]
    return tuple(dict.fromkeys(shared))


_HONORIFICS = frozenset(
    (
        *("mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sir", "madam"),
        *("jr", "sr", "phd", "md", "ii", "iii", "iv"),
    )
)


def name_parts(name: str) -> tuple[str, str]:
    """(first name, last name) of a display name; titles (Dr, Prof) and suffixes (Jr, PhD)
    are left out. A one-word name is both; an empty one is ("", "")."""
    parts = [p.strip(".,") for p in name.split()]
    kept = [p for p in parts if p and fold(p) not in _HONORIFICS]
    if not kept:
        return "", ""
    return kept[0], kept[-1]


_PLACEHOLDER = re.compile(
    r"\{\{?\s*[A-Za-z_][A-Za-z0-9_ ]{0,40}?\s*(?:\|[^{}\n]*)?\}\}?"  # {first_name}, {{name}}
    r"|\[\s*(?:(?:first|last|full|your|their|recipient'?s?|company)\s+)?"
    r"(?:name|company|school|title|role|position|job title)\s*\]"  # [First Name], [Company]
    r"|<\s*(?:(?:first|last|full|your)\s+)?name\s*>"  # <first name>
    r"|(?-i:%[A-Z][A-Z_]{2,}%)"  # %FIRSTNAME%
    r"|(?-i:\*\|[A-Z_]+\|\*)",  # *|FNAME|*
    re.IGNORECASE,
)


def placeholders(text: str) -> list[re.Match[str]]:
    """Mail-merge fields left in a text: ``{first_name}``, ``[Company]``, ``%NAME%``...

    A detector of its own: the template grammar (``domain/templates.py``) decides what a
    template's placeholder is; this catches what a member pasted or typed into a message.
    """
    return list(_PLACEHOLDER.finditer(text))
