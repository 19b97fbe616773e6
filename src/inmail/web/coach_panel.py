"""The message coach's panel on the compose page: which tips it shows, and how.

The compose page (:mod:`inmail.web.member_pages`) shows the tips for the recipient
before anything is written; :mod:`inmail.web.coach_pages` shows them for a draft, as the
member types (static/coach.js) or on "Check message" without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inmail.bootstrap import Runtime
from inmail.domain.coach import Severity, Tip, TipCode
from inmail.services import coach

LABELS = {Severity.WARNING: "Warning", Severity.SUGGESTION: "Suggestion", Severity.INFO: "Note"}


def draft_tips(
    rt: Runtime, member_id: str, to: str, subject: str, body: str, *, sends_free: bool
) -> list[Tip]:
    """The coach's tips on a compose form's draft, as the page shows them.

    Line breaks are counted as browsers' scripts see them (LF, not the CRLF a form
    posts), so a tip's span points at the same characters in the text area. A page
    that already sends for free leaves out the tip saying it could. Raises as
    :func:`inmail.services.coach.coach_draft`.
    """
    tips = coach.coach_draft(
        rt.deps,
        member_id=member_id,
        to=to,
        subject=_blank_is_empty(subject),
        body=_blank_is_empty(body.replace("\r\n", "\n")),
        now=rt.clock.now(),
        limits=coach.thresholds(rt.settings),
    )
    return [t for t in tips if not (sends_free and t.code == TipCode.FREE_ROUTE)]


def _blank_is_empty(text: str) -> str:
    # A field left blank (or only spaces, as a text area often is) is a draft not begun.
    return "" if not text.strip() else text


def panel(tips: Sequence[Tip], written: bool, error: str | None = None) -> dict[str, Any]:
    """What the tips template (``_coach_tips.html``) needs."""
    return {"tips": tips, "labels": LABELS, "written": written, "coach_error": error}
