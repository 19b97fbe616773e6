"""The inbox's rules: which threads a view lists, why a recipient declined, what a notice says.

Pure: no I/O. The store applies :class:`Box` as SQL; the words here are the ones a
member reads in the web app and in the API's notification ``text``.
"""

from __future__ import annotations

from enum import StrEnum

from inmail.domain.errors import ValidationError


class Box(StrEnum):
    """A view of a member's threads (each leaves out the threads they archived but ARCHIVED).

    INBOX: threads holding a message from the other member. SENT: threads holding one of
    the member's own. AWAITING: InMail threads the member started that still await a
    response. ARCHIVED: threads the member archived with nothing newer since.
    """

    INBOX = "inbox"
    SENT = "sent"
    AWAITING = "awaiting"
    ARCHIVED = "archived"


BOX_LABELS = {
    Box.INBOX: "Inbox",
    Box.SENT: "Sent",
    Box.AWAITING: "Awaiting response",
    Box.ARCHIVED: "Archived",
}


def box_of(value: str) -> Box:
    """The :class:`Box` named ``value``; ValidationError (field ``box``) naming the choices."""
    try:
        return Box(value)
    except ValueError:
        choices = ", ".join(b.value for b in Box)
        raise ValidationError(f"box is one of {choices}", field="box") from None


class DeclineReason(StrEnum):
    """Why a recipient declined an InMail; the sender's stats count each."""

    NOT_INTERESTED = "not_interested"
    NOT_NOW = "not_now"
    WRONG_PERSON = "wrong_person"


DECLINE_LABELS = {
    DeclineReason.NOT_INTERESTED: "Not interested",
    DeclineReason.NOT_NOW: "Not now",
    DeclineReason.WRONG_PERSON: "Wrong person",
}


def decline_reason_of(value: str | None) -> DeclineReason | None:
    """The reason named ``value`` (None or "" for none given); ValidationError naming the
    choices (field ``reason``) for anything else."""
    if not value:
        return None
    try:
        return DeclineReason(value)
    except ValueError:
        choices = ", ".join(r.value for r in DeclineReason)
        raise ValidationError(f"reason is one of {choices}", field="reason") from None


# What notices about a thread said before they named who: the prefix the new words replace.
_SAID_BEFORE = {"new_inmail": "New InMail: ", "reply": "New reply: "}


def notice_text(kind: str, text: str, who: str | None, reason: str | None = None) -> str:
    """A notification's words naming ``who`` (the other member of its thread) when known.

    ``text`` is the stored text (its subject or the message's start); ``reason`` a
    decline's :class:`DeclineReason` value. Notices of other kinds, or without a ``who``,
    keep their stored text.
    """
    if who is None:
        return text
    detail = text.removeprefix(_SAID_BEFORE.get(kind, ""))
    if kind == "new_inmail" and detail == "follow-up":
        return f"Follow-up InMail from {who}"
    if kind == "new_inmail":
        return f"New InMail from {who}: {detail}"
    if kind == "reply":
        return f"{who} replied: {detail}"
    if kind == "new_message":
        return f"New message from {who}: {detail}"
    if kind == "group_message":
        return f"Group message from {who}: {detail}"
    if kind == "decline":
        said = f" ({DECLINE_LABELS[DeclineReason(reason)].lower()})" if reason else ""
        return f"{who} declined your InMail{said}"
    if kind == "follow_up_due":
        return f"No response from {who} yet: you can send a follow-up"
    return text
