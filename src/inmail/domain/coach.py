"""The message coach: tips on a draft before it is sent, each one explaining itself (SPEC §8).

The source document's advice for spending scarce credits well: personalize each message
with the recipient's name and why you write, keep it brief but intriguing, target people
with something in common, follow up after a week, and use the free routes first. Each
rule below checks one piece of that advice and returns a :class:`Tip` or nothing; there
is no score. A tip's text says what was found (a count, a phrase, a route) and why it
matters, in one or two sentences.

Rules read a :class:`Draft` (subject and body as typed: either may be empty, a
half-written draft is worth checking), the :class:`Facts` about the recipient and the
pair that the service gathered (None when no recipient was named), the deployment's
:class:`Thresholds`, and ``now`` (UTC). A rule about the body says nothing while the body
is blank; the rules about the recipient (a free route, an InMail awaiting a response)
speak before anything is written.

Severity (the order tips are listed in): ``warning``, a credit would be wasted or the
InMail refused; ``suggestion``, a change likely to get more answers; ``info``, worth
knowing, nothing to change. ``span`` points at the text a tip is about, as character
offsets (Unicode code points, ``end`` exclusive) into the subject or the body as given.

Languages: the checks for a reason, a question or call to action, and a generic opening
read English phrases. A body that does not look English (see :func:`looks_english`) skips
them, with an ``info`` tip saying so, instead of getting nonsense; any script's question
mark counts as a question. Words are counted as :mod:`inmail.domain.reading` says (each
Chinese or Japanese character is a word).

Pure: no I/O. :mod:`inmail.services.coach` gathers the facts in one read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inmail.domain.messaging import BODY_MAX, SUBJECT_MAX, Channel, Route, next_followup_at
from inmail.domain.plans import Plan
from inmail.domain.reading import looks_english, mentions, name_parts, placeholders, words
from inmail.domain.text import TextRule

# A draft's subject and body: the limits and characters of a send, but either may be empty.
DRAFT_SUBJECT = TextRule(SUBJECT_MAX, required=False)
DRAFT_BODY = TextRule(BODY_MAX, multiline=True, required=False)


class Severity(StrEnum):
    WARNING = "warning"  # a credit would be wasted, or the InMail refused
    SUGGESTION = "suggestion"  # a change likely to get more answers
    INFO = "info"  # worth knowing; nothing to change


SEVERITY_ORDER = (Severity.WARNING, Severity.SUGGESTION, Severity.INFO)


class TipCode(StrEnum):
    """Every tip's stable code (docs/rules.md, "The message coach")."""

    AWAITING_RESPONSE = "awaiting-response"
    FREE_ROUTE = "free-route"
    INMAIL_REFUSED = "inmail-refused"
    PLACEHOLDER_LEFT = "placeholder-left"
    NAME_MISSING = "name-missing"
    NO_REASON = "no-reason"
    NO_QUESTION = "no-question"
    GENERIC_OPENING = "generic-opening"
    MESSAGE_LONG = "message-long"
    MANY_LINKS = "many-links"
    SUBJECT_LONG = "subject-long"
    SUBJECT_CAPITALS = "subject-capitals"
    LANGUAGE_NOT_CHECKED = "language-not-checked"


class DraftField(StrEnum):
    SUBJECT = "subject"
    BODY = "body"


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``start`` (inclusive) to ``end`` (exclusive) of the subject or body."""

    field: DraftField
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Tip:
    code: TipCode
    severity: Severity
    text: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers behind the tips; per deployment (``INMAIL_COACH_*`` settings)."""

    long_message_words: int = 150  # more words than this: message-long
    subject_max_chars: int = 60  # more characters than this: subject-long
    subject_capitals_percent: int = 60  # this share of a subject's cased letters or more...
    subject_capitals_min_letters: int = 6  # ...among at least this many: subject-capitals
    max_links: int = 2  # more links than this: many-links


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Awaiting:
    """The sender's InMail to the recipient that still awaits a response."""

    thread_id: str
    sent_at: datetime  # UTC, when the thread's first InMail was sent
    follow_up_at: datetime | None  # UTC, when a follow-up becomes possible; None: never


def awaiting(
    thread_id: str, sent_at: datetime, last_inmail_at: datetime, followups_sent: int, plan: Plan
) -> Awaiting:
    """An awaiting InMail thread, with when the sender's ``plan`` allows a follow-up (SPEC §5):
    ``followup_after_days`` after its last InMail, while ``max_followups`` are not used up."""
    return Awaiting(thread_id, sent_at, next_followup_at(last_inmail_at, followups_sent, plan))


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about the recipient and the sender-recipient pair.

    ``shared_*`` hold the recipient's spelling of what the two have in common;
    ``mutual_connections`` the names of up to three members connected to both.
    ``route`` is the cheapest way to reach them (:func:`inmail.domain.messaging.cheapest_route`),
    or None with ``refusal`` saying why an InMail cannot be sent.
    """

    name: str
    first_name: str
    last_name: str
    route: Route | None
    refusal: str | None = None
    shared_groups: tuple[str, ...] = ()
    shared_schools: tuple[str, ...] = ()
    shared_companies: tuple[str, ...] = ()
    shared_interests: tuple[str, ...] = ()
    mutual_connections: tuple[str, ...] = ()
    awaiting: Awaiting | None = None


Rule = Callable[[Draft, Facts | None, Thresholds, datetime], Tip | None]


def coach(draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime) -> list[Tip]:
    """Every rule's tip for this draft, warnings first, then suggestions, then information."""
    tips = [tip for rule in RULES if (tip := rule(draft, facts, thresholds, now)) is not None]
    return sorted(tips, key=lambda tip: SEVERITY_ORDER.index(tip.severity))


def _quote(text: str, limit: int = 40) -> str:
    shown = " ".join(text.split())
    return f"“{shown if len(shown) <= limit else shown[: limit - 1] + '…'}”"


def _listed(items: Sequence[str], limit: int = 4) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# --- About the recipient -------------------------------------------------------------------


def awaiting_response(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """An InMail of the sender's to them still awaits a response: a follow-up is the way."""
    if facts is None or facts.awaiting is None:
        return None
    waiting = facts.awaiting
    said = (
        f"Your InMail of {_when(waiting.sent_at)} to {facts.name} (thread {waiting.thread_id}) "
        "is still awaiting a response, so a new InMail to them would be refused."
    )
    if waiting.follow_up_at is None:
        then = " Your plan allows no further follow-up in that thread: wait for their answer."
    elif waiting.follow_up_at <= now:
        then = (
            " Write a follow-up in that thread instead: it is possible now "
            "(a follow-up is an InMail and costs a credit)."
        )
    else:
        then = (
            " Give them time: a follow-up in that thread is possible from "
            f"{_when(waiting.follow_up_at)}, and a reminder after a quiet week often gets an "
            "answer."
        )
    return Tip(TipCode.AWAITING_RESPONSE, Severity.WARNING, said + then)


def free_route(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """The recipient can be reached without spending a credit: name the way."""
    if facts is None:
        return None
    route = facts.route
    name = facts.first_name or facts.name
    if route is not None and route.cost == 0:
        return _free_channel(route.channel, name, facts)
    if facts.mutual_connections and facts.awaiting is None:
        who = " or ".join(facts.mutual_connections[:2])
        return Tip(
            TipCode.FREE_ROUTE,
            Severity.SUGGESTION,
            f"{who} knows both you and {name}: ask for an introduction, which is free, and a "
            "message that comes through someone they know is answered more often than an "
            "InMail from a stranger.",
        )
    return None


def _free_channel(channel: Channel, name: str, facts: Facts) -> Tip | None:
    if channel == Channel.OPEN_PROFILE:
        text = f"{name}'s profile is open: an InMail to them costs no credit."
        return Tip(TipCode.FREE_ROUTE, Severity.INFO, text)
    if channel == Channel.MESSAGE:
        text = (
            f"You are connected with {name}: a message to a connection is free and unlimited, "
            "so there is no credit to spend."
        )
    elif channel == Channel.CONVERSATION:
        text = (
            f"You already have an open conversation with {name}: write in it (from your inbox) "
            "for free instead of spending a credit on a new InMail."
        )
    elif channel == Channel.GROUP_MESSAGE:
        group = f"the group “{facts.shared_groups[0]}”" if facts.shared_groups else "a group"
        text = (
            f"You and {name} are both in {group}: a group message is free, so there is no need "
            "to spend a credit."
        )
    else:  # an InMail that a plan prices at 0 credits is no other route
        return None
    return Tip(TipCode.FREE_ROUTE, Severity.WARNING, text)


def inmail_refused(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """An InMail to them would be refused (said once: an awaiting InMail has its own tip)."""
    if facts is None or facts.refusal is None or facts.awaiting is not None:
        return None
    return Tip(
        TipCode.INMAIL_REFUSED,
        Severity.WARNING,
        f"This InMail cannot be sent: {facts.refusal}.",
    )


# --- What the message says -----------------------------------------------------------------


def placeholder_left(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """A placeholder is still in the text: the recipient would see it as it is."""
    found = [(DraftField.SUBJECT, m) for m in placeholders(draft.subject)]
    found += [(DraftField.BODY, m) for m in placeholders(draft.body)]
    if not found:
        return None
    field, first = found[0]
    names = list(dict.fromkeys(m.group() for _, m in found))
    them = "it" if len(names) == 1 else "them"
    return Tip(
        TipCode.PLACEHOLDER_LEFT,
        Severity.WARNING,
        f"Your message still holds {_listed(names)}: the recipient would see {them} as typed, "
        f"which tells them it went to many. Fill {them} in (or use a template, which fills "
        f"{them} for each recipient).",
        Span(field, first.start(), first.end()),
    )


def name_missing(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """A recipient was named, the body is written, and their name is in neither field."""
    if facts is None or not draft.body.strip():
        return None
    names = [n for n in {facts.first_name, facts.last_name} if len(n) >= 2]
    if not names:
        return None
    text = f"{draft.subject}\n{draft.body}"
    if any(mentions(text, name) for name in names):
        return None
    greeting = f"“Hi {facts.first_name},”"
    return Tip(
        TipCode.NAME_MISSING,
        Severity.SUGGESTION,
        f"{facts.name}'s name is not in your message. Greet them by name ({greeting}): a "
        "message written for one person gets more answers than one that could go to anyone.",
    )


_REASON = re.compile(
    r"\b(?:because|since|as (?:we|you|a fellow)|fellow|we both|both of us|we share|"
    r"in common|mutual|we (?:met|spoke|talked)|i (?:noticed|saw|read|heard|came across|found|"
    r"enjoyed|loved|admire|admired|was impressed)|impressed by|(?:saw|noticed|read) that|"
    r"the reason|recommended|referred|suggested|introduced|about your|regarding|"
    r"your (?:post|article|talk|work|paper|book|research|project|profile|company|team|"
    r"experience|background|role|writing|comment))\b",
    re.IGNORECASE,
)


def _context(facts: Facts) -> list[str]:
    """What the pair has in common, as a member would name it."""
    return [
        *(f"the group “{g}”" for g in facts.shared_groups),
        *facts.shared_schools,
        *facts.shared_companies,
        *(f"an interest in {i}" for i in facts.shared_interests),
        *(f"{m} (a mutual connection)" for m in facts.mutual_connections),
    ]


def _mentions_context(body: str, facts: Facts) -> bool:
    named = [
        *facts.shared_groups,
        *facts.shared_schools,
        *facts.shared_companies,
        *facts.shared_interests,
        *(name_parts(m)[0] for m in facts.mutual_connections),
    ]
    return any(mentions(body, value) for value in named)


def no_reason(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """The body gives no reason for writing: nothing in common named, no "because"."""
    body = draft.body
    if not body.strip() or not looks_english(body) or _REASON.search(body):
        return None
    if facts is not None and _mentions_context(body, facts):
        return None
    shared = _context(facts) if facts is not None else []
    why = (
        f" You have things in common you could name: {_listed(shared)}."
        if shared
        else " Say what you have in common, what of theirs you read, or why now."
    )
    return Tip(
        TipCode.NO_REASON,
        Severity.SUGGESTION,
        "Your message does not say why you are writing to them in particular." + why + " A "
        "reason (“I'm writing because…”) makes a message from a stranger worth answering.",
    )


# Question marks of many scripts: Latin, fullwidth, Arabic, Greek, Armenian, Ethiopic...
_QUESTION = re.compile(
    "[?\uff1f\u061f\u00bf\u037e\u055e\u1367\ua60f\u2e2e\ufe56\u2047-\u2049\u2753\u2754]"
)
_ASK = re.compile(
    r"\b(?:let me know|let's|let us|would you|could you|can you|will you|can we|could we|"
    r"shall we|are you (?:open|available|free|interested)|do you|would it|feel free|please|"
    r"reply|respond|get back to me|call|chat|meet|talk|coffee|schedule|book a|hop on|jump on|"
    r"hear from you|hear your|your thoughts|open to)\b",
    re.IGNORECASE,
)


def no_question(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """The body asks nothing: no question mark (in any script) and no request."""
    body = draft.body
    if not body.strip() or _QUESTION.search(body):
        return None
    if not looks_english(body) or _ASK.search(body):
        return None
    return Tip(
        TipCode.NO_QUESTION,
        Severity.SUGGESTION,
        "Your message asks nothing: end with one clear, easy question (“Would you have 15 "
        "minutes for a call next week?”), so they know what to answer.",
    )


_GENERIC = re.compile(
    r"\bdear\s+(?:sir\s*(?:/|or|and)\s*madam|madam\s*(?:/|or|and)\s*sir|sirs?|madam|"
    r"hiring\s+manager|recruiter|friend|colleague|member|all)\b"
    r"|\bto\s+whom\s+it\s+may\s+concern\b"
    r"|^[ \t]*(?:hi|hello|hey|greetings)\s+(?:there|all|everyone|friend|sir|madam)\b"
    r"|^[ \t]*greetings\b"
    r"|\bi\s+hope\s+(?:this|my|the)(?:\s+(?:message|e-?mail|note|inmail|letter))?\s+finds\s+you"
    r"(?:\s+(?:well|in\s+good\s+health))?"
    r"|\bi\s+hope\s+you(?:['\u2019]re|\s+are)\s+(?:doing\s+)?well\b"
    r"|\bi\s+hope\s+you(?:['\u2019]re|\s+are)?\s+(?:having|had)\s+an?\s+\w+\s+(?:day|week|weekend)\b"
    r"|\b(?:allow|let)\s+me\s+(?:to\s+)?introduce\s+myself\b"
    r"|^[ \t]*my\s+name\s+is\b",
    re.IGNORECASE | re.MULTILINE,
)
OPENING_CHARS = 300  # where the opening lines of a body end, for the generic-opening check


def generic_opening(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """The body opens with words that could start a message to anyone."""
    found = _GENERIC.search(draft.body, 0, OPENING_CHARS)
    if found is None:
        return None
    start = found.start() + len(found.group()) - len(found.group().lstrip())
    return Tip(
        TipCode.GENERIC_OPENING,
        Severity.SUGGESTION,
        f"{_quote(found.group())} could open a message to anyone. Open with their name and "
        "why you are writing to them: the first line is what their inbox shows.",
        Span(DraftField.BODY, start, found.end()),
    )


def message_long(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """More words than the threshold: say how many, and where the excess starts."""
    found = words(draft.body)
    limit = thresholds.long_message_words
    if len(found) <= limit:
        return None
    return Tip(
        TipCode.MESSAGE_LONG,
        Severity.SUGGESTION,
        f"Your message is {len(found)} words; aim for {limit} or fewer. Brief but intriguing "
        "gets answers: a short message is read to the end, even on a phone, and is easy to "
        "reply to. Keep the details for the conversation.",
        Span(DraftField.BODY, found[limit].start(), len(draft.body.rstrip())),
    )


_LINK = re.compile(r"(?:\bhttps?://|\bwww\.)[^\s<>\"'()]+", re.IGNORECASE)


def many_links(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """More links in the body than the threshold; the span runs from the first to the last."""
    found = list(_LINK.finditer(draft.body))
    if len(found) <= thresholds.max_links:
        return None
    most = thresholds.max_links
    count = f"{len(found)} link{'' if len(found) == 1 else 's'}"
    said = (
        f"Your message has {count} (more than {most}). Keep the one that matters most"
        if most
        else f"Your message has {count}. Keep links for the conversation"
    )
    return Tip(
        TipCode.MANY_LINKS,
        Severity.SUGGESTION,
        f"{said}: a first message full of links reads like marketing, and people rarely click "
        "links from someone they do not know.",
        Span(DraftField.BODY, found[0].start(), found[-1].end()),
    )


def subject_long(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """A subject longer than inboxes show; the span is the part likely cut off."""
    subject = draft.subject.rstrip()
    limit = thresholds.subject_max_chars
    if len(subject) <= limit:
        return None
    return Tip(
        TipCode.SUBJECT_LONG,
        Severity.SUGGESTION,
        f"The subject is {len(subject)} characters; inboxes show about the first {limit}, so "
        f"{_quote(subject[limit:], 24)} may never be seen. Say the point in {limit} or fewer.",
        Span(DraftField.SUBJECT, limit, len(subject)),
    )


def subject_capitals(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """A subject mostly in capital letters (scripts without case never are)."""
    subject = draft.subject
    cased = [i for i, c in enumerate(subject) if c.isupper() or c.islower()]
    upper = [i for i in cased if subject[i].isupper()]
    if len(cased) < thresholds.subject_capitals_min_letters:
        return None
    if 100 * len(upper) < thresholds.subject_capitals_percent * len(cased):
        return None
    start, end = upper[0], upper[-1] + 1
    return Tip(
        TipCode.SUBJECT_CAPITALS,
        Severity.SUGGESTION,
        f"The subject is mostly capital letters ({_quote(subject[start:end])}), which reads "
        "as shouting and looks like spam. Write it as a sentence.",
        Span(DraftField.SUBJECT, start, end),
    )


LANGUAGE_MIN_WORDS = 5  # a body this long that is not English gets language-not-checked


def language_not_checked(
    draft: Draft, facts: Facts | None, thresholds: Thresholds, now: datetime
) -> Tip | None:
    """Say so when the English-only checks were skipped, rather than judge another language."""
    body = draft.body
    if len(words(body)) < LANGUAGE_MIN_WORDS or looks_english(body):
        return None
    return Tip(
        TipCode.LANGUAGE_NOT_CHECKED,
        Severity.INFO,
        "Your message does not look like English, the only language the coach reads for a "
        "reason, a request and a generic opening, so those checks were skipped; the others "
        "apply to any language.",
    )


# In the order tips of one severity are listed.
RULES: tuple[Rule, ...] = (
    awaiting_response,
    free_route,
    inmail_refused,
    placeholder_left,
    name_missing,
    no_reason,
    no_question,
    generic_opening,
    message_long,
    many_links,
    subject_long,
    subject_capitals,
    language_not_checked,
)
