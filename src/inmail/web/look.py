"""The shared look's small rules: a member's initials and avatar colour, for the templates.

Pure functions, registered as Jinja filters in ``web.common`` and used by the
macros of ``templates/_ui.html``.
"""

from __future__ import annotations

import zlib

SWATCHES = 8  # avatar colours .avatar.c0 … .avatar.c7 in app.css, each AA with white text


def initials(name: str) -> str:
    """Up to two letters: the first of the first and of the last word ("Ada Lovelace" → "AL").

    A name of one word gives one letter; an empty or symbol-only name gives "?".
    """
    words = [w for w in name.split() if w[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def swatch(member_id: str) -> int:
    """The avatar colour of a member, 0 … SWATCHES-1: stable for an id, spread across ids."""
    return zlib.crc32(member_id.encode("utf-8")) % SWATCHES
