"""The compose form's scheduled follow-up (issue 10 §7): its fields, and what they ask for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form

from inmail.domain.errors import ValidationError
from inmail.domain.sequences import FollowUpRequest

FollowUpChecked = Annotated[str, Form(max_length=10)]
"""The box "Follow up automatically if no reply after N days": "on" when ticked."""

FollowUpDays = Annotated[int | None, Form(ge=0, le=36_500)]
FollowUpBody = Annotated[str, Form(max_length=5000)]


def follow_up_from_form(checked: str, days: int | None, body: str) -> FollowUpRequest | None:
    """The compose form's follow-up: None unless its box is ticked.

    Raises ValidationError (``follow_up.after_days``) when ticked without a number of
    days; the send checks the rest (services.inmail.plan_follow_up).
    """
    if not checked:
        return None
    if days is None:
        raise ValidationError(
            "say after how many days without a reply the follow-up goes out",
            field="follow_up.after_days",
        )
    return FollowUpRequest(days, body)
