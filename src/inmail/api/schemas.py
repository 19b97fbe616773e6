"""The JSON shapes of API.md, as pydantic models: validation at the edge, nowhere else.

Request bodies are strict (JSON types as they are: ``"yes"`` is not a boolean, ``true`` is
not a number; times are ISO 8601 strings with an offset) and refuse unknown fields. Every
text field is checked by its domain rule (:mod:`inmail.domain.text`), whose length and
pattern the OpenAPI document publishes, so the document states what the server enforces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from inmail.api.fields import INTEGRAL, OMITTABLE, TextField, Time
from inmail.domain import messaging, network, plans, profile
from inmail.domain.money import Money

T = TypeVar("T")
# Ids are opaque; the ones the API hands out are letters, digits, "_" and "-".
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
ID_MAX = 40
MemberId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=plans.CODE_MAX, pattern=plans.CODE_PATTERN)
]
Handle = Annotated[
    str,
    StringConstraints(min_length=2, max_length=profile.HANDLE_MAX, pattern=profile.HANDLE_PATTERN),
]
Subject = Annotated[str, TextField(messaging.SUBJECT)]
Body = Annotated[str, TextField(messaging.BODY)]


def _no_default_null(schema: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null publishes no ``default: null``."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and "anyOf" not in prop:
            del prop["default"]


class In(BaseModel):
    """Request bodies: strict JSON types, and unknown fields refused (a typo is an error,
    not a silent no-op)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_no_default_null)


class Price(BaseModel):
    amount_minor: int
    currency: str

    @classmethod
    def of(cls, money: Money) -> Price:
        return cls(amount_minor=money.amount_minor, currency=money.currency)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class MemberIn(In):
    handle: Handle
    name: Annotated[str, TextField(profile.NAME)]
    headline: Annotated[str, TextField(profile.HEADLINE)] = ""
    company: Annotated[str, TextField(profile.COMPANY)] = ""
    school: Annotated[str, TextField(profile.SCHOOL)] = ""
    interests: Annotated[
        list[Annotated[str, TextField(profile.INTEREST)]], Field(max_length=profile.INTERESTS_MAX)
    ] = []
    plan: Code = "basic"


class MemberOut(BaseModel):
    id: str
    handle: str
    name: str
    headline: str
    company: str
    school: str
    interests: list[str]
    plan: str


class TokenOut(BaseModel):
    token: str


class ConnectionIn(In):
    a: MemberId
    b: MemberId


class ConnectionOut(BaseModel):
    a: str
    b: str
    created: bool


class PlanChangeIn(In):
    plan: Code


class SubscriptionOut(BaseModel):
    plan: str
    pending_plan: str | None
    anchor: datetime
    cycle_start: datetime | None
    cycle_end: datetime | None


class SubscriptionPreviewOut(BaseModel):
    """What ``PUT /v1/me/subscription`` with this plan would do now (docs/rules.md)."""

    plan: str
    change: Literal["subscribe", "upgrade", "scheduled", "unscheduled", "none"]
    effective_at: datetime = Field(description="now, or the next cycle start if scheduled")
    credits_granted_now: int
    charge_now: Price | None
    new_rollover_cap: int = Field(description="the cap the plan applies at its renewals")
    next_renewal: NextRenewalOut | None


class PlanOut(BaseModel):
    code: str
    name: str
    version: int
    monthly_allotment: int
    rollover_cap: int
    price: Price
    inmail: bool
    packs: bool
    overage: bool
    overage_pack: str
    credit_back_days: int
    inmail_cost: int
    plan_credit_lifetime_days: int | None
    pack_credit_lifetime_days: int
    followup_after_days: int
    max_followups: int


Count = Annotated[int, Field(ge=0, le=1_000_000), INTEGRAL]
Days = Annotated[int, Field(ge=1, le=36_500), INTEGRAL]


class PriceIn(In):
    amount_minor: Annotated[int, Field(ge=0, le=10**12), INTEGRAL]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class PlanIn(In):
    """New terms for a plan: given fields change, the others keep their current value.

    Only ``plan_credit_lifetime_days`` takes null (plan credits that never expire).
    """

    name: Annotated[str | None, TextField(plans.PLAN_NAME), OMITTABLE] = None
    monthly_allotment: Annotated[Count | None, OMITTABLE] = None
    rollover_cap: Annotated[Count | None, OMITTABLE] = None
    price: Annotated[PriceIn | None, OMITTABLE] = None
    inmail: Annotated[bool | None, OMITTABLE] = None
    packs: Annotated[bool | None, OMITTABLE] = None
    overage: Annotated[bool | None, OMITTABLE] = None
    overage_pack: Annotated[Code | None, OMITTABLE] = None
    credit_back_days: Annotated[
        Annotated[int, Field(ge=0, le=36_500), INTEGRAL] | None, OMITTABLE
    ] = None
    inmail_cost: Annotated[Annotated[int, Field(ge=0, le=1000), INTEGRAL] | None, OMITTABLE] = None
    plan_credit_lifetime_days: Days | None = None
    pack_credit_lifetime_days: Annotated[Days | None, OMITTABLE] = None
    followup_after_days: Annotated[
        Annotated[int, Field(ge=0, le=365), INTEGRAL] | None, OMITTABLE
    ] = None
    max_followups: Annotated[Annotated[int, Field(ge=0, le=100), INTEGRAL] | None, OMITTABLE] = None
    confirm_lower_cap: Annotated[
        bool,
        Field(
            description="true to save a rollover_cap below monthly_allotment (refused with "
            "422 validation-error otherwise: every renewal would forfeit down to the cap)"
        ),
    ] = False
    expected_version: Annotated[
        Annotated[int, Field(ge=1), INTEGRAL] | None,
        OMITTABLE,
        Field(description="the version edited: 409 catalog-changed if another was saved since"),
    ] = None


class AdminPackOut(BaseModel):
    code: str
    credits: int
    price: Price
    version: int


class PackIn(In):
    """A pack's new terms (a new code makes a new pack: credits and price needed).

    Saved as the pack's next version; purchases already made keep the price they were charged.
    """

    credits: Annotated[Annotated[int, Field(ge=1, le=1_000_000), INTEGRAL] | None, OMITTABLE] = None
    price: Annotated[PriceIn | None, OMITTABLE] = None
    expected_version: Annotated[
        Annotated[int, Field(ge=1), INTEGRAL] | None,
        OMITTABLE,
        Field(description="the version edited: 409 catalog-changed if another was saved since"),
    ] = None


class RenewedOut(BaseModel):
    renewed: int


class AuditOut(BaseModel):
    ok: bool
    problems: list[str]


class ClockOut(BaseModel):
    now: datetime


class ClockIn(In):
    advance_days: Annotated[int, Field(ge=0, le=36_500), INTEGRAL] | None = None
    advance_seconds: Annotated[int, Field(ge=0, le=3_153_600_000), INTEGRAL] | None = None
    now: Time | None = None


class SettingsIn(In):
    """Given settings change, the others stay; ``overage_limit_minor: null`` means no limit."""

    inmail_open: Annotated[bool | None, OMITTABLE] = None
    open_profile: Annotated[bool | None, OMITTABLE] = None
    group_messages_open: Annotated[bool | None, OMITTABLE] = None
    auto_overage: Annotated[bool | None, OMITTABLE] = None
    overage_limit_minor: Annotated[int, Field(ge=0, le=10**12), INTEGRAL] | None = None
    time_zone: Annotated[
        Annotated[
            str,
            StringConstraints(
                min_length=1, max_length=profile.TIME_ZONE_MAX, pattern=profile.TIME_ZONE_PATTERN
            ),
        ]
        | None,
        OMITTABLE,
        Field(description="IANA name, e.g. Europe/Paris: how times are shown"),
    ] = None


class SettingsOut(BaseModel):
    inmail_open: bool
    open_profile: bool
    group_messages_open: bool
    auto_overage: bool
    overage_limit_minor: int | None
    time_zone: str


class TokenInfoOut(BaseModel):
    """One of my API tokens: its id (for revoking it) and when it was made; never the token."""

    id: str
    created_at: datetime


class InvitationLinkOut(BaseModel):
    """A one-time password-set link for a member: shown once, stored hashed."""

    url: str
    member_id: str
    expires_at: datetime


class LotOut(BaseModel):
    id: str
    source: str
    remaining: int
    expires_at: datetime | None


class NextRenewalOut(BaseModel):
    """What the next renewal will do: under the scheduled plan if a change is scheduled."""

    at: datetime
    plan: str
    grant: int = Field(description="credits the renewal grants")
    rollover_cap: int = Field(description="plan credits kept at most after it")
    fee: Price = Field(description="the charge it records (0 records none)")
    forfeit: int = Field(description="credits it forfeits if none are spent before it")


class CreditsOut(BaseModel):
    balance: int
    plan_credits: int
    purchased_credits: int
    monthly_allotment: int
    rollover_cap: int
    cycle_start: datetime | None
    cycle_end: datetime | None
    next_renewal_at: datetime | None
    forfeit_at_next_renewal: int
    lots: list[LotOut] = Field(
        description="every live plan lot, then the first 10 other live lots, in spending "
        "order; all of them: GET /v1/me/credits/lots"
    )
    lots_total: int = Field(description="live lots in all (lots may list fewer)")
    next_renewal: NextRenewalOut | None


class LedgerEntryOut(BaseModel):
    id: str
    at: datetime
    kind: str
    amount: int
    balance_after: int
    lot_id: str
    source: str
    reference: str


class PackOut(BaseModel):
    code: str
    credits: int
    price: Price


class PurchaseIn(In):
    pack: Code


class PurchaseOut(BaseModel):
    credits: int
    price: Price
    lot_id: str


class ChargeOut(BaseModel):
    """A charge; a ``refund`` has a negative price and ``credits`` (those taken back) and
    names the charge it refunds in ``refund_of``."""

    id: str
    at: datetime
    kind: Literal["subscription", "pack", "overage", "proration", "refund"]
    credits: int | None
    price: Price
    refund_of: str | None = None


def _one_source(schema: dict[str, Any]) -> None:
    """Subject and body, or a template: never both, never neither (stated for clients)."""
    _no_default_null(schema)
    # "Must not be present" as `not: {required}` rather than a `false` property schema: the
    # same rule, in a form client generators read (openapi-python-client refuses `false`).
    schema["anyOf"] = [
        {
            "required": ["subject", "body"],
            "not": {"anyOf": [{"required": ["template_id"]}, {"required": ["variant"]}]},
        },
        {
            "required": ["template_id"],
            "not": {"anyOf": [{"required": ["subject"]}, {"required": ["body"]}]},
        },
    ]


class InmailIn(In):
    """``subject`` and ``body``, or ``template_id`` (and ``variant``, A by default): the
    sender's template rendered for ``to``. Both or neither is a 422 naming the field."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_one_source)

    to: MemberId
    subject: Annotated[Subject | None, OMITTABLE] = None
    body: Annotated[Body | None, OMITTABLE] = None
    template_id: Annotated[MemberId | None, OMITTABLE] = None
    variant: Annotated[Literal["a", "b"] | None, OMITTABLE] = None
    follow_up: Annotated[FollowUpIn | None, OMITTABLE] = None


class SentOut(BaseModel):
    id: str
    thread_id: str
    cost_credits: int
    overage_charge: Price | None
    balance_after: int | None


class MessageIn(In):
    to: MemberId
    body: Body


class ThreadMessageIn(In):
    body: Body


class PostedOut(BaseModel):
    id: str
    thread_id: str
    kind: Literal["reply", "message", "followup"]
    cost_credits: int
    overage_charge: Price | None
    balance_after: int | None


class MessageOut(BaseModel):
    id: str
    sender: str
    kind: str
    subject: str | None
    body: str
    cost_credits: int
    at: datetime


class LastMessageOut(BaseModel):
    """A thread's newest message, in short: ``snippet`` is the first 140 characters."""

    id: str
    sender: str
    kind: str
    snippet: str
    at: datetime


class ThreadOut(BaseModel):
    id: str
    kind: Literal["inmail", "message", "group", "introduction"]
    participants: list[str]
    initiator: str
    status: Literal["awaiting_response", "answered", "declined", "open"]
    created_at: datetime
    last_message_at: datetime
    opened_at: datetime | None
    responded_at: datetime | None
    followups_sent: int
    last_message: LastMessageOut | None
    # Every message on GET /v1/threads/{id}; only the last one in GET /v1/threads.
    messages: list[MessageOut]
    scheduled_follow_up: ScheduledFollowUpOut | None = Field(
        default=None,
        description="GET /v1/threads/{id}: the follow-up its sender scheduled (only they see it)",
    )
    subject: str | None = Field(default=None, description="the first InMail's subject, if any")
    unread: bool = Field(
        default=False, description="it holds a message from the other you have not seen"
    )
    archived: bool = Field(default=False, description="you archived it, and nothing came since")
    decline_reason: Literal["not_interested", "not_now", "wrong_person"] | None = None


class ReadOut(BaseModel):
    thread_id: str
    opened_at: datetime | None = Field(description="the recipient's first read (the receipt)")


class DeclinedOut(BaseModel):
    status: Literal["declined"]
    reason: Literal["not_interested", "not_now", "wrong_person"] | None = None


class FollowUpOut(BaseModel):
    thread_id: str
    recipient: str
    last_inmail_at: datetime
    due_at: datetime
    followups_sent: int


class NotificationOut(BaseModel):
    id: str
    at: datetime
    kind: str
    text: str = Field(description='who and what: "New InMail from Ada Lovelace: <subject>"')
    reference: str
    read_at: datetime | None = Field(default=None, description="null while unread")
    actor: str | None = Field(
        default=None, description="the member it is about (a thread's other side)"
    )


class ResponseCountsOut(BaseModel):
    """SPEC §5 with the counts behind the rate: ``response_rate`` = (answered + declined) /
    ``counted``; ``counted`` = ``sent`` - ``pending_under_30_days``; null when 0."""

    sent: int
    answered: int = Field(description="replied to within 30 days")
    declined: int = Field(description="declined within 30 days")
    pending_under_30_days: int = Field(description="no response yet, sent under 30 days ago")
    no_response: int = Field(description="no response within 30 days")
    counted: int
    response_rate: float | None


class VariantStatsOut(ResponseCountsOut):
    variant: Literal["a", "b"]


class TemplateStatsOut(BaseModel):
    template_id: str
    name: str
    deleted: bool
    total: ResponseCountsOut
    variants: list[VariantStatsOut]


class DeclinesOut(BaseModel):
    """Your InMails declined, by the reason the recipient gave."""

    not_interested: int
    not_now: int
    wrong_person: int
    not_given: int


class StatsOut(BaseModel):
    inmails_sent: int
    responses: int
    counted: int
    response_rate: float | None
    declined: int = 0
    declines_by_reason: DeclinesOut | None = None
    # Per template (live ones, and deleted ones that sent InMail), newest first.
    templates: list[TemplateStatsOut] = []


class AlternativeOut(BaseModel):
    channel: str
    detail: str


class QuoteOut(BaseModel):
    channel: Literal[
        "message", "inmail", "open_profile", "group_message", "conversation", "introduction"
    ]
    cost_credits: int
    allowed: bool
    reason: str
    overage_charge: Price | None
    alternatives: list[AlternativeOut]
    thread_id: str | None = Field(
        None, description="your InMail thread to them awaiting a response (then allowed is false)"
    )
    follow_up_at: datetime | None = Field(
        None, description="when a follow-up in that thread is possible; null: never, or no thread"
    )


class MemberViewOut(MemberOut):
    degree: int


class InvitationIn(In):
    to: MemberId
    note: Annotated[str, TextField(network.INVITATION_NOTE)] = ""


class InvitationOut(BaseModel):
    id: str
    from_member: str
    to_member: str
    status: Literal["pending", "accepted", "declined"]
    note: str
    created_at: datetime


class BlockOut(BaseModel):
    member: str
    blocked: bool


class GroupIn(In):
    name: Annotated[str, TextField(network.GROUP_NAME)]
    description: Annotated[str, TextField(network.GROUP_DESCRIPTION)] = ""
    closed: bool = False


class GroupOut(BaseModel):
    id: str
    name: str
    description: str
    closed: bool
    owner: str
    created_at: datetime


class MembershipOut(BaseModel):
    group_id: str
    member: str
    status: Literal["member", "pending"]


class GroupMessageIn(In):
    to: MemberId
    body: Body


class PostIn(In):
    body: Annotated[str, TextField(network.POST)]


class PostOut(BaseModel):
    id: str
    author: str
    parent_id: str | None
    body: str
    mentions: list[str]
    created_at: datetime


Visibility = Literal["only_me", "connections", "network", "everyone"]


class ContactFieldIn(In):
    value: Annotated[str, TextField(network.CONTACT_VALUE)]
    # null or left out: the field's default visibility
    visibility: Visibility | None = None


class ContactInfoIn(In):
    """Each field given is set; null removes it; a field left out stays as it is."""

    email: ContactFieldIn | None = None
    phone: ContactFieldIn | None = None
    website: ContactFieldIn | None = None


class ContactFieldOut(BaseModel):
    value: str
    visibility: Visibility


class OwnContactInfoOut(BaseModel):
    email: ContactFieldOut | None = None
    phone: ContactFieldOut | None = None
    website: ContactFieldOut | None = None


class ContactInfoOut(BaseModel):
    email: str | None = None
    phone: str | None = None
    website: str | None = None


class IntroductionIn(In):
    target: MemberId
    via: MemberId
    note: Annotated[str, TextField(network.INTRODUCTION_NOTE)]


class ForwardIn(In):
    # null, empty or left out: no note of the connector's own
    note: Annotated[str, TextField(network.FORWARD_NOTE)] | None = None


class IntroductionOut(BaseModel):
    id: str
    status: Literal["pending", "forwarded", "declined"]
    requester: str
    via: str
    target: str
    note: str
    thread_id: str | None


class FollowUpIn(In):
    """A follow-up sent by itself ``after_days`` days after the InMail if no response came
    (charged then, SPEC §5). ``after_days``: from the sender's plan's follow-up wait (7) to the
    longest schedule (28); its text is ``body``, or ``template_id``: that template's body
    rendered for the recipient when the InMail is sent."""

    after_days: Annotated[int, Field(ge=0, le=36_500), INTEGRAL]
    body: Annotated[str | None, TextField(messaging.BODY), OMITTABLE] = None
    template_id: Annotated[MemberId | None, OMITTABLE] = None


class ScheduledRefOut(BaseModel):
    """The follow-up a send scheduled (its state: GET /v1/me/scheduled-follow-ups/{id})."""

    id: str
    due_at: datetime


class InmailSentOut(SentOut):
    scheduled_follow_up: ScheduledRefOut | None = None


class ScheduledFollowUpOut(BaseModel):
    """A scheduled follow-up: pending until due, then sent, failed or cancelled."""

    id: str
    thread_id: str
    recipient: str
    after_days: int
    due_at: datetime
    body: str | None
    template_id: str | None
    status: Literal["pending", "sent", "cancelled", "failed"]
    reason_code: str | None = Field(
        description="why it was cancelled (answered, declined, cancelled-by-sender, "
        "followed-up-by-hand) or failed (the refusal's error code, e.g. insufficient-credits)"
    )
    reason: str | None
    message_id: str | None = Field(description="the follow-up InMail, once sent")
    attempts: int
    created_at: datetime
    updated_at: datetime
