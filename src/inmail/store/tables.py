"""The schema, as SQLAlchemy Core tables. It reaches a database only through migrations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    literal_column,
    true,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


def sqlite_text(moment: datetime) -> str:
    """An aware datetime as SQLite stores it: the UTC wall time in SQLAlchemy's text format
    (``2026-01-15 12:00:00.000000``). isoformat pads the year to four digits as SQLAlchemy
    does. Raises ValueError for a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError("refusing to store a naive datetime")
    if moment.utcoffset():  # zero for UTC: no conversion
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def from_sqlite_text(text: str) -> datetime:
    """The aware UTC datetime stored as ``text`` (:func:`sqlite_text`'s format, or any other
    ISO 8601 date and time without an offset). Raises ValueError for other text."""
    moment = datetime.fromisoformat(text + "+00:00")
    if moment.tzinfo is None:  # a date alone: fromisoformat drops the offset after it
        raise ValueError(f"not a stored date and time: {text!r}")
    return moment


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine.

    SQLite has no time zones: it stores the UTC wall time and this type puts
    the zone back when reading.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite the two methods above run after SQLAlchemy's own text conversion, and a
    # datetime's replace(tzinfo=...) alone costs about 0.5 µs: 0.8 µs a value read and 1.8
    # written, which a credits overview of 11 lots pays 26 times (issue 13,
    # http_credits_many_lots). There the processors go straight between aware datetimes and
    # the stored text (0.1 µs read, 0.9 written); a stored text in another form falls back
    # to SQLAlchemy's conversion and the methods above, as before.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else sqlite_text(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        fallback = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or fallback is None:
            return fallback

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                return from_sqlite_text(value)
            except (TypeError, ValueError):
                return fallback(value)

        return process


# Integer primary keys that are SQLite rowids there and BIGINT identities on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")

plans = Table(
    "plans",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("monthly_allotment", Integer, nullable=False),
    Column("rollover_cap", Integer, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("inmail", Boolean, nullable=False),
    Column("packs", Boolean, nullable=False),
    Column("overage", Boolean, nullable=False),
    Column("inmail_cost", Integer, nullable=False),
    Column("overage_pack", String(64), nullable=False),
    Column("plan_credit_lifetime_days", Integer, nullable=True),
    Column("pack_credit_lifetime_days", Integer, nullable=False),
    Column("credit_back_days", Integer, nullable=False),
    Column("followup_after_days", Integer, nullable=False),
    Column("max_followups", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

packs = Table(
    "packs",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("credits", Integer, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint("credits > 0", name="credits_positive"),
)

# Every version of every pack's terms, as the operator wrote them; ``packs`` holds the newest.
# A purchase keeps the price it was charged (its charge row), whatever comes after.
pack_versions = Table(
    "pack_versions",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("credits", Integer, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("credits > 0", name="credits_positive"),
)

members = Table(
    "members",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("handle", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("headline", String(300), nullable=False, server_default=""),
    Column("company", String(200), nullable=False, server_default=""),
    Column("school", String(200), nullable=False, server_default=""),
    Column("interests", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("inmail_open", Boolean, nullable=False, server_default=true()),
    Column("open_profile", Boolean, nullable=False, server_default=false()),
    Column("group_messages_open", Boolean, nullable=False, server_default=true()),
    # IANA name; times are shown to the member in it (stored times stay UTC).
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
)

member_tokens = Table(
    "member_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The token's public name, for listing and revoking it (the token itself is never kept).
    Column("id", String(40), nullable=False, unique=True),
)
Index("ix_member_tokens_member_id", member_tokens.c.member_id)

connections = Table(
    "connections",
    metadata,
    # Stored once per pair, with a < b; a lookup checks both directions through the index pair.
    Column("a", String(40), ForeignKey("members.id"), primary_key=True),
    Column("b", String(40), ForeignKey("members.id"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("a < b", name="ordered_pair"),
)
Index("ix_connections_b", connections.c.b, connections.c.a)  # covering: see migration 0013

# The credit tables below are keyed by their holder (``member_id``): a member, or a team
# whose pool the account is (``tm_…``, migration 0019), so they do not reference members.
accounts = Table(
    "accounts",
    metadata,
    Column("member_id", String(40), primary_key=True),
    Column("subscription_id", String(40), nullable=False),
    Column("plan_code", String(64), nullable=False),
    Column("plan_version", Integer, nullable=False),
    Column("pending_plan", String(64), nullable=True),
    Column("anchor", UTCDateTime, nullable=False),
    Column("renewed_cycle", Integer, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("next_due_at", UTCDateTime, nullable=True),
    Column("auto_overage", Boolean, nullable=False),
    Column("overage_limit_minor", BigInteger, nullable=True),
    ForeignKeyConstraint(["plan_code", "plan_version"], ["plans.code", "plans.version"]),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
)
Index("ix_accounts_next_due_at", accounts.c.next_due_at)

lots = Table(
    "lots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("member_id", String(40), nullable=False),
    Column("source", String(20), nullable=False),
    Column("granted", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    CheckConstraint("remaining >= 0 AND remaining <= granted", name="remaining_in_range"),
)
# Whether a lot holds plan credits (``LotSource.ALLOTMENT``), as the spending order's index and
# the queries it serves write it: a literal, so SQLite and PostgreSQL match the indexed
# expression (tests/integration/test_migration_0025.py checks that both use the index).
LOT_IS_PLAN = lots.c.source == literal_column("'allotment'")
# A member's lots, in spending order (domain.credits.spending_order): plan lots, then the
# others soonest expiry first, never-expiring last, each by age (migration 0025). The credits
# overview reads its first lots from it without sorting them all. Not partial on
# ``remaining > 0``: each spend would rewrite its lot's entry (2.5 more WAL frames a commit).
Index(
    "ix_lots_spending_order",
    lots.c.member_id,
    LOT_IS_PLAN,
    lots.c.expires_at.is_(None),
    func.coalesce(lots.c.expires_at, lots.c.created_at),
    lots.c.created_at,
    lots.c.id,
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("member_id", String(40), nullable=False),
    Column("lot_id", BigId, ForeignKey("lots.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("reference", String(200), nullable=False),
    Column("seat_member_id", String(40), nullable=True),  # the seat whose send this paid
    CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
)
Index("ix_ledger_entries_member_id_id", ledger_entries.c.member_id, ledger_entries.c.id)
# The operator's totals read a month of entries (or charges) by kind across every member.
Index("ix_ledger_entries_at", ledger_entries.c.at)

spends = Table(
    "spends",
    metadata,
    # "sp_…": a label for the spend's answers (SpendResult.spend_id), never looked up.
    Column("id", String(40), nullable=False),
    Column("member_id", String(40), nullable=False),
    # What was paid for (an InMail's "inmail:msg_…"): one spend per reference, and what every
    # lookup goes by, so it is the key (migration 0029), with no second index beside it.
    Column("reference", String(200), primary_key=True),
    Column("cost", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("refunded_at", UTCDateTime, nullable=True),
    Column("seat_member_id", String(40), nullable=True),  # a team seat's send, paid by the pool
    CheckConstraint("cost >= 0", name="cost_not_negative"),
    # On SQLite the rows live in their key's b-tree, not in a rowid table beside an index of
    # the key: one b-tree fewer written at every spend's commit (migration 0027).
    sqlite_with_rowid=False,
)
# A seat's usage this month (domain/teams.py): its unrefunded spends since the month began.
# Seats' spends only: a NULL entry per other spend would cost every spend's commit a page.
Index(
    "ix_spends_seat_member_id_at",
    spends.c.seat_member_id,
    spends.c.at,
    sqlite_where=spends.c.seat_member_id.is_not(None),
    postgresql_where=spends.c.seat_member_id.is_not(None),
)

charges = Table(
    "charges",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("member_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("credits", Integer, nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("reference", String(200), nullable=False),
)
Index("ix_charges_member_id_at", charges.c.member_id, charges.c.at)
Index("ix_charges_at", charges.c.at)

renewals = Table(
    "renewals",
    metadata,
    Column("subscription_id", String(40), primary_key=True),
    Column("cycle", Integer, primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("plan_code", String(64), nullable=False),
    Column("plan_version", Integer, nullable=False),
    Column("granted", Integer, nullable=False),
    Column("forfeited", Integer, nullable=False),
    # Plan credits left after the renewal (null before migration 0007): whether it hit the cap.
    Column("plan_credits_after", Integer, nullable=True),
    # The cap it applied (null before migration 0019: the plan version's); a pool's is larger.
    Column("rollover_cap", Integer, nullable=True),
)
Index("ix_renewals_member_id", renewals.c.member_id)

teams = Table(
    "teams",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("plan_code", String(64), nullable=False),
    Column("seats", Integer, nullable=False),
    Column("pool_cap", Integer, nullable=True),  # None: the plan's cap x seats
    Column("seat_overage", Boolean, nullable=False),  # the admins let seats buy overage
    Column("created_at", UTCDateTime, nullable=False),
)

team_seats = Table(
    "team_seats",
    metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),  # one team each
    Column("team_id", String(40), ForeignKey("teams.id"), nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("monthly_cap", Integer, nullable=True),  # None: no cap
    Column("assigned_at", UTCDateTime, nullable=False),
)
Index("ix_team_seats_team_id", team_seats.c.team_id)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(120), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
# The worker prunes keys older than their retention (docs/rules.md) by this index.
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)

test_clock = Table(
    "test_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("now", UTCDateTime, nullable=False),
)

threads = Table(
    "threads",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # inmail | message
    Column("initiator_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("recipient_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_message_at", UTCDateTime, nullable=False),
    Column("last_inmail_at", UTCDateTime, nullable=True),
    Column("followups_sent", Integer, nullable=False, server_default="0"),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("responded_at", UTCDateTime, nullable=True),
    Column("group_id", String(40), nullable=True),  # the group a group-message thread is in
    # 0, but for the older ones of several InMail threads that already awaited a response from
    # one sender to one recipient when migration 0008 came (1 = the next older, ...): they stay
    # as they were, and every new thread takes 0 (docs/rules.md, "One InMail awaiting").
    Column("duplicate_rank", Integer, nullable=False, server_default="0"),
    # The newest message seq each side has seen and, when it archived the thread, the newest
    # then: a newer message makes the thread unread and unarchived for it (migration 0014).
    Column("initiator_seen_seq", BigId, nullable=True),
    Column("initiator_archived_seq", BigId, nullable=True),
    Column("recipient_seen_seq", BigId, nullable=True),
    Column("recipient_archived_seq", BigId, nullable=True),
    # Why the recipient declined: not_interested | not_now | wrong_person (None: not said).
    Column("decline_reason", String(20), nullable=True),
)
Index("ix_threads_initiator", threads.c.initiator_id, threads.c.last_message_at)
Index("ix_threads_recipient", threads.c.recipient_id, threads.c.last_message_at)
# SPEC §4: one InMail awaiting a response per sender and recipient. The race guard: of two
# concurrent sends to one recipient only one thread can be written (and so only one charged).
# Literals, not parameters: a query that repeats this WHERE can then use the index.
AWAITING_INMAIL = (threads.c.kind == literal_column("'inmail'")) & (
    threads.c.status == literal_column("'awaiting_response'")
)
# The InMails a member received, by last activity, with their outcome (targeting's answer
# rate, migration 0022): read from the index alone on PostgreSQL (INCLUDE).
Index(
    "ix_threads_inmails_to",
    threads.c.recipient_id,
    threads.c.last_message_at,
    postgresql_include=["status", "created_at", "responded_at"],
    postgresql_where=threads.c.kind == literal_column("'inmail'"),
    sqlite_where=threads.c.kind == literal_column("'inmail'"),
)
Index(
    "uq_threads_awaiting_inmail",
    threads.c.initiator_id,
    threads.c.recipient_id,
    threads.c.duplicate_rank,
    unique=True,
    sqlite_where=AWAITING_INMAIL,
    postgresql_where=AWAITING_INMAIL,
)

templates = Table(
    "templates",
    metadata,
    # seq orders a member's templates (newest first) for their list and its cursor.
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("owner_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("subject", String(200), nullable=False),  # variant A, as written (placeholders)
    Column("body", Text, nullable=False),
    Column("b_subject", String(200), nullable=True),  # variant B, or both null
    Column("b_body", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Deleting keeps the row (the InMails sent from it still name it in their stats).
    Column("deleted_at", UTCDateTime, nullable=True),
    CheckConstraint("(b_subject IS NULL) = (b_body IS NULL)", name="variant_b_whole"),
)
Index("ix_templates_owner_id_seq", templates.c.owner_id, templates.c.seq)

messages = Table(
    "messages",
    metadata,
    # seq orders a thread's messages even when the (test) clock shows one moment for all.
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("thread_id", String(40), ForeignKey("threads.id"), nullable=False),
    Column("sender_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # inmail | followup | reply | message
    Column("subject", String(200), nullable=True),
    Column("body", Text, nullable=False),
    Column("cost_credits", Integer, nullable=False),
    Column("spend_reference", String(200), nullable=True),
    Column("credit_back_days", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    # The template and variant ("a" or "b") an InMail was rendered from (migration 0009).
    Column("template_id", String(40), ForeignKey("templates.id"), nullable=True),
    Column("variant", String(1), nullable=True),
)
Index("ix_messages_thread", messages.c.thread_id, messages.c.created_at)
# Partial (migration 0026): most messages have no template, and a message without one then
# writes no entry here (one b-tree and one WAL page less per send on SQLite). Every query by
# template compares template_id with a value, which implies IS NOT NULL on both engines.
Index(
    "ix_messages_template_id",
    messages.c.template_id,
    sqlite_where=messages.c.template_id.is_not(None),
    postgresql_where=messages.c.template_id.is_not(None),
)
Index("ix_messages_sender", messages.c.sender_id, messages.c.created_at)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("text", String(500), nullable=False),
    Column("reference", String(200), nullable=False),
    # Set for notifications computed on read (follow-up due), so each is written once.
    Column("once_key", String(200), nullable=True, unique=True),
    Column("read_at", UTCDateTime, nullable=True),  # when the member read it (migration 0014)
)
Index("ix_notifications_member", notifications.c.member_id, notifications.c.id)
Index(
    "ix_notifications_member_unread",
    notifications.c.member_id,
    sqlite_where=notifications.c.read_at.is_(None),
    postgresql_where=notifications.c.read_at.is_(None),
)

blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("blocked_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_blocks_blocked_id", blocks.c.blocked_id)  # who blocked a member (search hides them)

invitations = Table(
    "invitations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("from_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("to_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("status", String(20), nullable=False),  # pending | accepted | declined
    Column("note", String(300), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
)
Index("ix_invitations_to", invitations.c.to_id, invitations.c.status)

groups = Table(
    "groups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", String(2000), nullable=False, server_default=""),
    Column("closed", Boolean, nullable=False),
    Column("owner_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(40), ForeignKey("groups.id"), primary_key=True),
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("status", String(20), nullable=False),  # member | pending
    Column("since", UTCDateTime, nullable=False),
)
Index("ix_group_members_member", group_members.c.member_id, group_members.c.status)

posts = Table(
    "posts",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("author_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("parent_id", String(40), nullable=True),  # set for comments
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_posts_author", posts.c.author_id, posts.c.seq)
# A member's latest post since a moment (targeting's "recently active", migration 0022).
Index("ix_posts_author_created_at", posts.c.author_id, posts.c.created_at)
Index("ix_posts_parent", posts.c.parent_id, posts.c.seq)

mentions = Table(
    "mentions",
    metadata,
    Column("post_id", String(40), ForeignKey("posts.id"), primary_key=True),
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_mentions_member", mentions.c.member_id, mentions.c.created_at)

contact_info = Table(
    "contact_info",
    metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("field", String(20), primary_key=True),  # email | phone | website
    Column("value", String(300), nullable=False),
    Column("visibility", String(20), nullable=False),
)

introductions = Table(
    "introductions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("requester_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("via_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("target_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("note", String(1000), nullable=False),
    Column("status", String(20), nullable=False),  # pending | forwarded | declined
    Column("forward_note", String(1000), nullable=True),
    Column("thread_id", String(40), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
)
Index("ix_introductions_via", introductions.c.via_id, introductions.c.status)

member_passwords = Table(
    "member_passwords",
    metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("hash", String(200), nullable=False),  # argon2id, with its own salt and parameters
    Column("updated_at", UTCDateTime, nullable=False),
)

member_invitation_links = Table(
    "member_invitation_links",
    metadata,
    # One-time password-set links the operator issues; only the token's SHA-256 is kept.
    Column("token_hash", String(64), primary_key=True),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)
Index("ix_member_invitation_links_member_id", member_invitation_links.c.member_id)

app_secrets = Table(
    "app_secrets",
    metadata,
    # Secrets every process of a deployment must share (the session-signing key).
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

scheduled_followups = Table(
    "scheduled_followups",
    metadata,
    # One follow-up InMail a sender scheduled when sending (issue 10 §7), sent by the worker
    # or on the sender's next request once due, if the thread still awaits a response.
    Column("id", String(40), primary_key=True),
    Column("thread_id", String(40), ForeignKey("threads.id"), nullable=False, unique=True),
    Column("sender_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("after_days", Integer, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=True),
    Column("template_id", String(40), nullable=True),  # the template a follow-up was rendered from
    Column("status", String(20), nullable=False),  # pending | sent | cancelled | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    # A run holds the job until then; after a crash another run takes it over.
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("reason_code", String(64), nullable=True),  # why it was cancelled or failed
    Column("reason", String(500), nullable=True),
    Column("message_id", String(40), nullable=True),  # the follow-up, once sent
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('pending', 'sent', 'cancelled', 'failed')", name="status_known"),
    CheckConstraint("body IS NOT NULL OR template_id IS NOT NULL", name="has_text"),
)
# The worker's scan ("what is due?") and a sender's own ("anything due for me?", their list).
Index(
    "ix_scheduled_followups_status_due", scheduled_followups.c.status, scheduled_followups.c.due_at
)
Index(
    "ix_scheduled_followups_sender",
    scheduled_followups.c.sender_id,
    scheduled_followups.c.status,
    scheduled_followups.c.due_at,
)

# The search index (domain/search.py, store/search.py): one row per member or group in the
# order they were indexed (``seq``: a result's place in its tier), holding the folded words
# of the profile. ``document`` is their text on SQLite, indexed by an FTS5 table, and a
# tsvector on PostgreSQL, indexed by GIN; migration 0010 makes those indexes, which are
# the engine's own (store/schema.ENGINE_SPECIFIC).
SearchDocument = Text().with_variant(TSVECTOR(), "postgresql")

member_search = Table(
    "member_search",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False, unique=True),
    Column("document", SearchDocument, nullable=False),
)

group_search = Table(
    "group_search",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("group_id", String(40), ForeignKey("groups.id"), nullable=False, unique=True),
    Column("document", SearchDocument, nullable=False),
)

# A bulk send (issue 10 §6): one template to up to 500 recipients, each its own atomic
# charge. seq orders a member's bulk sends (newest first) for their list and its cursor.
bulk_sends = Table(
    "bulk_sends",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("owner_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("template_id", String(40), ForeignKey("templates.id"), nullable=False),
    Column("connections", String(10), nullable=False),  # message | skip
    Column("status", String(10), nullable=False),  # pending | running | done | stopped
    Column("recipients", Integer, nullable=False),  # how many were listed
    # What the member confirmed, and what the sends spent and billed so far: each send
    # adds to these in its own transaction, and only while they stay within the caps.
    Column("max_credits", Integer, nullable=False),
    Column("max_overage_minor", BigInteger, nullable=True),  # null: no cap but the rules'
    Column("credits_spent", Integer, nullable=False, server_default="0"),
    Column("overage_minor", BigInteger, nullable=False, server_default="0"),
    Column("overage_currency", String(3), nullable=True),
    Column("stop", JSON, nullable=True),  # {position, code, detail}: what stopped it
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    # The last line of defence: the sends' own guards keep within these already.
    CheckConstraint("credits_spent <= max_credits", name="within_confirmed_credits"),
    CheckConstraint(
        "max_overage_minor IS NULL OR overage_minor <= max_overage_minor",
        name="within_confirmed_overage",
    ),
)
Index("ix_bulk_sends_owner_id_seq", bulk_sends.c.owner_id, bulk_sends.c.seq)

bulk_send_recipients = Table(
    "bulk_send_recipients",
    metadata,
    Column("bulk_id", String(40), ForeignKey("bulk_sends.id"), primary_key=True),
    Column("position", Integer, primary_key=True),  # in the list as given, from 1
    Column("member_id", String(40), nullable=False),  # as listed: it may name no member
    Column("status", String(10), nullable=False),  # pending | sent | not_sent
    Column("channel", String(20), nullable=True),  # inmail | open_profile | message
    Column("variant", String(1), nullable=True),  # a | b
    # The text rendered when the bulk send was confirmed: what is sent (null: not sent).
    Column("subject", String(200), nullable=True),
    Column("body", Text, nullable=True),
    Column("cost_credits", Integer, nullable=False, server_default="0"),
    Column("overage_minor", BigInteger, nullable=False, server_default="0"),
    Column("message_id", String(40), nullable=True),
    Column("thread_id", String(40), nullable=True),
    Column("reason", JSON, nullable=True),  # {code, detail, missing?, thread_id?, follow_up_at?}
    Column("updated_at", UTCDateTime, nullable=False),
)

# The transactional outbox (migration 0017): every event is written in the transaction of the
# change it tells of, so it exists if and only if that change committed (store/outbox.py).
outbox_events = Table(
    "outbox_events",
    metadata,
    # Insertion order, never reused: rows are never deleted, so a new row's max(seq) + 1 was
    # never given before. No AUTOINCREMENT on SQLite (migration 0027): its counter would be
    # one more page written at every event's commit. A retention that prunes the outbox must
    # keep its newest row (docs/events.md).
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),  # "evt_…", stable across deliveries
    Column("type", String(60), nullable=False),
    Column("member_id", String(40), nullable=True),  # whose change; null for operator events
    Column("at", UTCDateTime, nullable=False),
    # The writing transaction's id on PostgreSQL (0 on SQLite, whose writers are serial):
    # readers order by (tx, seq) and stop below the oldest transaction still running.
    # Filled by the column's default, which differs per engine (migration 0017): leave it out.
    Column("tx", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),  # JSON object, the event's documented schema
)
# PostgreSQL also has ix_outbox_events_tx (tx, seq), its readers' order; SQLite reads in
# rowid order (migration 0024): engine-specific, so made by migrations only (store/schema.py).
# No index by member (dropped by migration 0028): each event put an entry at its member's place
# in it, a page of its own written with every event (three a send); the operators' filtered
# read scans a bounded window instead (store/outbox.read_filtered).

# Webhooks (migration 0018): operators' endpoints, each with its cursor into the outbox, and
# one delivery per (endpoint, event) with its attempts (store/webhooks.py, docs/webhooks.md).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),  # "whk_…"
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),  # ["*"] or a list of event types
    Column("secret", String(200), nullable=False),  # "whsec_…": signs, so stored as given
    Column("created_at", UTCDateTime, nullable=False),
    # The dispatcher's place in the outbox: after the event at (cursor_tx, cursor_seq);
    # both null before the outbox's first event.
    Column("cursor_tx", BigInteger, nullable=True),
    Column("cursor_seq", BigInteger, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # Per endpoint, the dispatcher inserts in outbox order under the endpoint's lock, so seq
    # order is event order: the ordering rule compares seqs.
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),  # "dlv_…"
    Column("endpoint_id", String(40), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_id", String(40), nullable=False),  # outbox_events.id: the webhook-id
    Column("event_type", String(60), nullable=False),
    # The event's member, "" for the operator's own events: the ordering group, never null so
    # that one index answers "an earlier pending delivery in this group?".
    Column("member_key", String(40), nullable=False),
    Column("status", String(12), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("leased_until", UTCDateTime, nullable=True),  # a worker is sending it until then
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    sqlite_autoincrement=True,
)
Index(
    "ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at
)
Index(
    "ix_webhook_deliveries_group",
    webhook_deliveries.c.endpoint_id,
    webhook_deliveries.c.member_key,
    webhook_deliveries.c.status,
    webhook_deliveries.c.seq,
)
Index(
    "ix_webhook_deliveries_listed",
    webhook_deliveries.c.endpoint_id,
    webhook_deliveries.c.status,
    webhook_deliveries.c.seq,
)

# Sender reputation (SPEC §10, issue 14 §3; domain/reputation.py).
spam_reports = Table(
    "spam_reports",
    metadata,
    Column("id", String(40), primary_key=True),  # "rpt_…"
    Column("thread_id", String(40), ForeignKey("threads.id"), nullable=False),
    Column("reporter_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("sender_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("reason", String(20), nullable=False),  # spam | not_relevant
    # When the reported InMail (the thread's latest) was sent: a ban counts only reports on
    # InMails sent after the previous ban began.
    Column("inmail_sent_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # One report per recipient per thread: a repeat answers the first.
    UniqueConstraint("thread_id", "reporter_id", name="uq_spam_reports_thread_reporter"),
)
Index("ix_spam_reports_sender", spam_reports.c.sender_id, spam_reports.c.created_at)

suspensions = Table(
    "suspensions",
    metadata,
    # seq orders the operator's list (newest first) and its cursor.
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),  # "sus_…"
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("level", Integer, nullable=False),  # the ladder's step, 1-based
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reports", Integer, nullable=False),  # the reports that brought it
    Column("lifted_at", UTCDateTime, nullable=True),  # set when an appeal is accepted
    Column("appeal_status", String(12), nullable=False),  # none | pending | accepted | rejected
    Column("appeal_text", Text, nullable=True),
    Column("appealed_at", UTCDateTime, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_suspensions_member", suspensions.c.member_id, suspensions.c.starts_at)

# One row per member the rules ever touched: what a send's guard reads (by primary key).
sender_standings = Table(
    "sender_standings",
    metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("warned_at", UTCDateTime, nullable=True),
    Column("bulk_off_from", UTCDateTime, nullable=True),
    Column("bulk_off_until", UTCDateTime, nullable=True),
    Column("bulk_off_reason", Text, nullable=True),
    Column("suspended_until", UTCDateTime, nullable=True),
    Column("suspension_id", String(40), nullable=True),
    Column("suspension_reason", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
