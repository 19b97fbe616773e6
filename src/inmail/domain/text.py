"""The one rule for text a client sends: no control characters, nothing invisible-only, a length.

Every service that stores text from a client (subjects, bodies, notes, posts,
names, headlines, group names, contact values, plan names, reasons...) checks
it with a :class:`TextRule`, so the API, the web app and the CLI refuse the
same things on every database engine (PostgreSQL cannot store NUL; SQLite
would). The API publishes each rule's ``pattern`` and ``max_length`` in its
OpenAPI document from the same objects, so the document states exactly what
is enforced.

A text is refused when it

- is longer than ``max_length`` characters (Unicode code points, as JSON
  Schema's ``maxLength`` counts them);
- holds a control character: C0 (U+0000-U+001F), DEL and C1 (U+007F-U+009F);
  multi-line texts may hold tab, line feed and carriage return (browsers send
  CRLF line breaks). Unpaired surrogates (which no UTF-8 text can hold) are
  refused too;
- is required and has nothing visible: only whitespace, format characters
  (Unicode category Cf: U+200B, U+FEFF, U+2060...) and the other
  default-ignorable code points (Hangul fillers, variation selectors, U+034F)
  or U+2800 (a blank braille cell). An optional text may be exactly empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from inmail.domain.errors import ValidationError

# Inclusive code point ranges. tests/unit/test_text_rules.py checks them against the
# Unicode database of the running Python, so a new Unicode version cannot drift silently.
CONTROLS = ((0x00, 0x1F), (0x7F, 0x9F))
LINE_BREAKS = (0x09, 0x0A, 0x0D)  # tab, LF, CR: allowed in multi-line texts
WHITESPACE = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
FORMAT = (  # Unicode category Cf (as of Unicode 15.1)
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
OTHER_INVISIBLE = (  # default-ignorable code points that are not Cf, and the blank braille cell
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
INVISIBLE = WHITESPACE + FORMAT + OTHER_INVISIBLE


def _char(code: int) -> str:
    # BMP characters as \uXXXX escapes (ECMA-262, Python and Rust regexes all read them);
    # the few astral ones as themselves, which every Unicode-aware regex engine reads.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class_body(ranges: tuple[tuple[int, int], ...]) -> str:
    parts = []
    for first, last in sorted(ranges):
        parts.append(_char(first) if first == last else f"{_char(first)}-{_char(last)}")
    return "".join(parts)


def _without(
    ranges: tuple[tuple[int, int], ...], codes: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    kept: list[tuple[int, int]] = []
    for first, last in ranges:
        start = first
        for code in range(first, last + 1):
            if code in codes:
                if start < code:
                    kept.append((start, code - 1))
                start = code + 1
        if start <= last:
            kept.append((start, last))
    return tuple(kept)


@cache
def _refused(multiline: bool) -> str:
    return _class_body(_without(CONTROLS, LINE_BREAKS if multiline else ()))


@cache
def _control(multiline: bool) -> re.Pattern[str]:
    # Unpaired surrogates too: no UTF-8 text (and so no database) can hold them.
    return re.compile(f"[{_refused(multiline)}\\ud800-\\udfff]")


@cache
def _visible(multiline: bool) -> re.Pattern[str]:
    return re.compile(f"[^{_refused(multiline)}{_class_body(INVISIBLE)}]")


@dataclass(frozen=True, slots=True)
class TextRule:
    """One kind of client text: at most ``max_length`` characters, on one line or several,
    required (something visible) or optional (empty, or something visible)."""

    max_length: int
    multiline: bool = False
    required: bool = True

    @property
    def min_length(self) -> int:
        return 1 if self.required else 0

    @property
    def pattern(self) -> str:
        """The rule but the length, as an anchored regular expression for JSON Schema.

        ``[^refused]*[^refused invisible][^refused]*``: no refused character anywhere and
        at least one visible one; an optional text may also be empty.
        """
        refused = _refused(self.multiline)
        visible = f"[^{refused}]*[^{refused}{_class_body(INVISIBLE)}][^{refused}]*"
        return f"^{visible}$" if self.required else f"^({visible})?$"

    def check(self, value: str, *, field: str) -> str:
        """``value`` when it follows the rule; else ValidationError naming ``field``."""
        if len(value) > self.max_length:
            raise ValidationError(f"{field} is at most {self.max_length} characters", field=field)
        if _control(self.multiline).search(value):
            what = "control characters" if self.multiline else "control characters or line breaks"
            raise ValidationError(f"{field} cannot contain {what}", field=field)
        if (self.required or value) and not _visible(self.multiline).search(value):
            raise ValidationError(
                f"{field} cannot be blank (only spaces or invisible characters)", field=field
            )
        return value


def is_clean(value: str) -> bool:
    """Whether ``value`` is free of control characters (line breaks included) and surrogates."""
    return _control(False).search(value) is None
