"""The one error tree of inmail.

Every rule that refuses something raises a subclass of :class:`DomainError`.
Each class carries a stable machine ``code`` (the API's problem ``code``) and a
one-line docstring that says when it is raised. Entry points map codes to
their own vocabulary (HTTP status, CLI exit code); services never raise
anything transport-specific.

    DomainError
    ├── ValidationError              validation-error
    │   └── ClockMovedBackwards      validation-error
    │   └── TemplateSyntaxError      validation-error
    ├── TemplatePlaceholderMissing   template-placeholder-missing
    ├── NotFound                     not-found
    │   └── UnknownMember            not-found
    │   └── UnknownTeam              not-found
    ├── UnknownPlan                  unknown-plan
    ├── UnknownPack                  unknown-pack
    ├── Conflict                     conflict
    │   └── HandleTaken              handle-taken
    │   └── AlreadySpent             already-spent
    │   └── CostChanged              cost-changed
    │   └── CatalogChanged           catalog-changed
    │   └── ScheduledFollowUpNotPending  scheduled-follow-up-not-pending
    │   └── WebhookDeliveryDelivered webhook-delivery-delivered
    │   └── ChargeNotRefundable      charge-not-refundable
    │   └── ChargeAlreadyRefunded    charge-already-refunded
    ├── IdempotencyKeyReused         idempotency-key-reused
    ├── InmailNotOnPlan              inmail-not-on-plan
    ├── PacksNotOnPlan               packs-not-on-plan
    ├── InsufficientCredits          insufficient-credits
    ├── OverageLimitReached          overage-limit-reached
    ├── SeatCapReached               seat-cap-reached
    ├── RecipientIsConnection        recipient-is-connection
    ├── RecipientNotAcceptingInmail  recipient-not-accepting-inmail
    ├── RecipientBlockedByYou        recipient-blocked
    ├── CannotCancelSentInmail       cannot-cancel-sent-inmail
    ├── FollowUpTooEarly             follow-up-too-early
    ├── FollowUpLimitReached         follow-up-limit-reached
    ├── InmailAlreadyAwaitingResponse  inmail-already-awaiting-response
    ├── NotAConnection               not-a-connection
    ├── SendingSuspended             sending-suspended
    ├── BulkSendingOff               bulk-sending-off
    ├── ThreadClosed                 thread-closed
    ├── Forbidden                    forbidden
    ├── NotGroupPeers                not-group-peers
    ├── GroupMessagesClosed          group-messages-closed
    ├── GroupMessageLimitReached     group-message-limit-reached
    ├── NotAMutualConnection         not-a-mutual-connection
    ├── InvitationLinkUsed           invitation-link-used
    ├── InvitationLinkExpired        invitation-link-expired
    ├── TooManyAttempts              too-many-attempts
    ├── StaleForm                    stale-form
    └── NotReady                     not-ready
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the shapes only: templates imports this module
    from inmail.domain.templates import Missing, Problem


class DomainError(Exception):
    """Base of every refusal; ``code`` is stable, ``message`` is for people."""

    code = "domain-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """An input is malformed or out of range; ``field`` names it."""

    code = "validation-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ClockMovedBackwards(ValidationError):
    """The test clock was asked to move into the past."""


class TemplateSyntaxError(ValidationError):
    """A template's text has unknown placeholders or stray braces; ``problems`` lists each
    (field, offset, line, column, message)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        described = "; ".join(p.describe() for p in problems)
        super().__init__(described, field=problems[0].field)
        self.problems = tuple(problems)


class TemplatePlaceholderMissing(DomainError):
    """A template's placeholder has no value for this recipient and no fallback.

    ``missing`` lists each (placeholder, field); ``recipient`` is the recipient's id.
    """

    code = "template-placeholder-missing"

    def __init__(self, message: str, missing: Sequence[Missing], recipient: str) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
        self.recipient = recipient


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not-found"


class UnknownMember(NotFound):
    """No member has that id."""


class UnknownTeam(NotFound):
    """No team has that id (or the caller is not one of its admins)."""


class UnknownPlan(DomainError):
    """No plan has that code."""

    code = "unknown-plan"


class UnknownPack(DomainError):
    """No credit pack has that code."""

    code = "unknown-pack"


class Conflict(DomainError):
    """The request contradicts the stored state."""

    code = "conflict"


class HandleTaken(Conflict):
    """Another member already uses that handle."""

    code = "handle-taken"


class AlreadySpent(Conflict):
    """A spend with that reference exists already (each InMail is spent once)."""

    code = "already-spent"


class ChargeNotRefundable(Conflict):
    """A refund of a charge that bought no credit lot (a fee, a proration, a refund)."""

    code = "charge-not-refundable"


class ChargeAlreadyRefunded(Conflict):
    """A refund of a charge whose whole amount has been refunded already."""

    code = "charge-already-refunded"


class CostChanged(Conflict):
    """A send would cost more credits than the member was shown and agreed to."""

    code = "cost-changed"


class CatalogChanged(Conflict):
    """A plan or pack was edited by someone else after this edit was reviewed."""

    code = "catalog-changed"


class ScheduledFollowUpNotPending(Conflict):
    """A scheduled follow-up was sent or failed already: there is nothing left to cancel."""

    code = "scheduled-follow-up-not-pending"


class IdempotencyKeyReused(DomainError):
    """The idempotency key was used before for a different request."""

    code = "idempotency-key-reused"


class InmailNotOnPlan(DomainError):
    """The member's plan does not include InMail."""

    code = "inmail-not-on-plan"


class PacksNotOnPlan(DomainError):
    """The member's plan cannot buy credit packs."""

    code = "packs-not-on-plan"


class InsufficientCredits(DomainError):
    """Not enough credits, and overage cannot apply."""

    code = "insufficient-credits"


class OverageLimitReached(DomainError):
    """Buying the overage pack would pass the member's per-cycle overage limit."""

    code = "overage-limit-reached"


class SeatCapReached(DomainError):
    """A team seat has used its monthly cap, set by the team's admins."""

    code = "seat-cap-reached"


class InmailNotOnPlanWithRoutes(InmailNotOnPlan):
    """No InMail on the plan; ``free_routes`` names the free ways to reach the recipient."""

    def __init__(self, message: str, free_routes: list[str]) -> None:
        super().__init__(message)
        self.free_routes = free_routes


class RecipientIsConnection(DomainError):
    """The recipient is a 1st-degree connection: a free message reaches them."""

    code = "recipient-is-connection"


class RecipientNotAcceptingInmail(DomainError):
    """The recipient turned InMail off, or does not accept InMail from the sender."""

    code = "recipient-not-accepting-inmail"


class RecipientBlockedByYou(DomainError):
    """The sender blocked the recipient: they must unblock them to write to them."""

    code = "recipient-blocked"


class CannotCancelSentInmail(DomainError):
    """A sent InMail cannot be cancelled, edited or deleted."""

    code = "cannot-cancel-sent-inmail"


class FollowUpTooEarly(DomainError):
    """A follow-up comes only after the thread has waited long enough for a response."""

    code = "follow-up-too-early"


class FollowUpLimitReached(DomainError):
    """The thread has had all the follow-ups the plan allows."""

    code = "follow-up-limit-reached"


class InmailAlreadyAwaitingResponse(DomainError):
    """An InMail from the sender to this recipient awaits a response: follow up in its thread.

    ``thread_id`` names that thread; ``follow_up_at`` (UTC) is when a follow-up
    becomes possible there, None when no further follow-up is (the plan's
    ``max_followups`` are used up).
    """

    code = "inmail-already-awaiting-response"

    def __init__(self, message: str, *, thread_id: str, follow_up_at: datetime | None) -> None:
        super().__init__(message)
        self.thread_id = thread_id
        self.follow_up_at = follow_up_at


class NotAConnection(DomainError):
    """Free messages go only to 1st-degree connections."""

    code = "not-a-connection"


class SendingSuspended(DomainError):
    """The sender is banned from sending InMail until ``until`` (UTC), for ``reason``
    (spam reports, SPEC §10); replies stay allowed."""

    code = "sending-suspended"

    def __init__(self, message: str, *, until: datetime, reason: str) -> None:
        super().__init__(message)
        self.until = until
        self.reason = reason


class BulkSendingOff(DomainError):
    """Bulk sending is off for the sender until ``until`` (UTC), for ``reason`` (the
    response-rate floor, SPEC §10); 1:1 InMail stays allowed."""

    code = "bulk-sending-off"

    def __init__(self, message: str, *, until: datetime, reason: str) -> None:
        super().__init__(message)
        self.until = until
        self.reason = reason


class ThreadClosed(DomainError):
    """The thread was declined (or is otherwise closed) and takes no more messages."""

    code = "thread-closed"


class Forbidden(DomainError):
    """The caller may not do this to that (e.g. decline an InMail they sent)."""

    code = "forbidden"


class NotGroupPeers(DomainError):
    """Group messages go between members of the same group."""

    code = "not-group-peers"


class GroupMessagesClosed(DomainError):
    """The recipient does not accept group messages."""

    code = "group-messages-closed"


class GroupMessageLimitReached(DomainError):
    """The member started as many group conversations this month as allowed."""

    code = "group-message-limit-reached"


class NotAMutualConnection(DomainError):
    """Introductions go through someone connected to both members."""

    code = "not-a-mutual-connection"


class InvitationLinkUsed(DomainError):
    """An invitation (password-set) link was used already: each works once."""

    code = "invitation-link-used"


class InvitationLinkExpired(DomainError):
    """An invitation (password-set) link is past its expiry."""

    code = "invitation-link-expired"


class TooManyAttempts(DomainError):
    """Too many failed sign-ins for a handle or from an address; ``retry_after`` is in
    whole seconds from now."""

    code = "too-many-attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StaleForm(DomainError):
    """A form carries the CSRF token of an earlier session (e.g. opened before signing in
    again): nothing was done, and the form is shown again with what was typed."""

    code = "stale-form"


class WebhookDeliveryDelivered(Conflict):
    """The operator asked to retry a webhook delivery its receiver already accepted."""

    code = "webhook-delivery-delivered"


class NotReady(DomainError):
    """The service cannot serve yet: ``check`` names what failed (``database``: it does not
    answer; ``migrations``: it is not at the newest migration)."""

    code = "not-ready"

    def __init__(self, message: str, *, check: str) -> None:
        super().__init__(message)
        self.check = check
