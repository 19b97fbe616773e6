"""Settings: the only place that reads the environment (prefix ``INMAIL_``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from limits import parse as parse_limit
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inmail.domain.errors import ValidationError
from inmail.domain.invitation_links import DEFAULT_DAYS, MAX_DAYS
from inmail.domain.reputation import ReputationRules
from inmail.domain.sequences import FOLLOW_UP_MAX_DAYS
from inmail.domain.targeting import TargetingRules
from inmail.domain.timeline import MAX_TERM_DAYS, check_accepted
from inmail.domain.webhooks import DeliveryPolicy, RetryPolicy
from inmail.store.db import PSYCOPG_PREPARE_THRESHOLD

DEFAULT_DATABASE_URL = "sqlite:///inmail.db"
# SQLite writes one at a time and reads in microseconds: one thread keeps the one writer busy;
# more only contend for the GIL, which costs more than the I/O they overlap (docs/deploy.md,
# "Threads", measured on 2 cores).
SQLITE_THREADS = 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INMAIL_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``."""

    admin_token: str | None = None
    """The operator's bearer token; without it the operator endpoints are closed."""

    test_clock: datetime | None = None
    """Start a persisted test clock at this time; it only moves when advanced."""

    sqlite_busy_timeout_ms: int = 30_000
    """How long a SQLite writer waits for the write lock before giving up."""

    pool_size: int = 10
    """Connections per process on PostgreSQL."""

    threads: int | None = Field(default=None, ge=1, le=1000)
    """Threads per app process that run requests' database work (the event loop hands
    blocking work to them). By default 1 on SQLite and ``pool_size`` on PostgreSQL: more
    threads than that only wait, for the one writer or for a connection, and fight over
    Python's GIL while they do (docs/deploy.md, "Threads")."""

    session_secret: str | None = None
    """Signs the web app's session cookies; by default a random one kept in the database."""

    secure_cookies: bool = False
    """Send the session cookie over HTTPS only (turn on behind TLS)."""

    group_message_monthly_limit: int = 15
    """New group-message conversations a member may start per calendar month (UTC)."""

    max_body_bytes: int = Field(default=1_048_576, ge=1)
    """The largest request body accepted, in bytes; a larger one is refused with 413."""

    # Observability (docs/operations.md).
    log_format: str = Field(default="text", pattern="^(text|json)$")
    """How ``inmail serve`` and ``inmail worker`` log: ``text`` lines or ``json`` objects
    (observe.logs.LogFormat)."""

    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Serve ``/metrics`` on this port, without a token, instead of on the app's port
    behind the operator token."""

    metrics_host: str = "127.0.0.1"
    """The address the metrics port listens on (with ``INMAIL_METRICS_PORT``)."""

    metrics_dir: Path | None = None
    """Where ``inmail serve --workers N`` keeps the worker processes' metric files (emptied
    at each start); by default a temporary directory, removed at exit."""

    # The message coach's thresholds (docs/rules.md, "The message coach").
    coach_long_message_words: int = Field(default=150, ge=1)
    """A body of more words than this gets the coach's ``message-long`` tip."""

    coach_subject_max_chars: int = Field(default=60, ge=1, le=200)
    """A subject of more characters than this gets ``subject-long``."""

    coach_subject_capitals_percent: int = Field(default=60, ge=1, le=100)
    """A subject with at least this share (%) of its cased letters in capitals gets
    ``subject-capitals``..."""

    coach_subject_capitals_min_letters: int = Field(default=6, ge=1)
    """...when it has at least this many cased letters."""

    coach_max_links: int = Field(default=2, ge=0)
    """A body with more links than this gets ``many-links``."""

    follow_up_max_days: int = Field(default=FOLLOW_UP_MAX_DAYS, ge=0, le=MAX_TERM_DAYS)
    """The longest wait, in days, a member may schedule an automatic follow-up for."""

    worker_poll_seconds: float = Field(default=30.0, gt=0)
    """How long ``inmail worker`` sleeps between passes when nothing is due."""

    job_lease_seconds: int = Field(default=300, ge=1)
    """How long a run holds a claimed job (a scheduled follow-up) before another may retry it."""

    targeting_weights: dict[str, int] = Field(default_factory=dict)
    """Targeting score weights to change, by name, as JSON: ``{"same_company": 8}``
    (docs/targeting.md lists them; an unknown name stops the start)."""

    targeting_active_days: int = 30
    """A message, post or comment within this many days makes a member recently active."""

    targeting_min_history: int = 5
    """InMails a member must have had answered or expired before their bucket shows."""

    # Sender reputation (SPEC §10; docs/rules.md "Sender reputation").
    reputation_min_sent: int = Field(default=100, ge=1)
    """InMails sent within the window before the response-rate floor applies."""

    reputation_window_days: int = Field(default=14, ge=1, le=3650)
    """The response-rate window, in days."""

    reputation_floor: float = Field(default=0.13, ge=0, le=1)
    """The floor, a fraction: answered ÷ sent under it warns (0.13 = 13 %)."""

    reputation_grace_days: int = Field(default=7, ge=0, le=3650)
    """Days after the warning before a rate still under the floor turns bulk sending off."""

    reputation_bulk_off_days: int = Field(default=14, ge=1, le=3650)
    """How long bulk sending stays off, in days."""

    reputation_reports_to_ban: int = Field(default=3, ge=1)
    """Spam / not-relevant reports within the report window that bring a send ban."""

    reputation_report_window_days: int = Field(default=30, ge=1, le=3650)
    """The window, in days, reports are counted in."""

    reputation_ban_hours: tuple[int, ...] = (24, 72, 168)
    """The ban ladder's steps, in hours, as JSON: ``[24, 72, 168]``."""

    reputation_ladder_reset_days: int = Field(default=90, ge=1, le=3650)
    """Days after the latest ban ended with no new one before the ladder starts again."""

    bulk_send_max_recipients: int = Field(default=500, ge=1)
    """The most recipients one bulk send may list; more is refused with 422."""

    base_url: str = "http://127.0.0.1:8000"
    """Where members reach the web app: invitation links printed by the CLI start with it."""

    invitation_link_days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS)
    """How many days an invitation (password-set) link works."""

    sign_in_throttle_storage: str = "memory://"
    """Where failed sign-ins are counted (a ``limits`` storage URI): ``memory://`` is per
    server process; ``redis://host:6379`` shares the counts between processes."""

    sign_in_limit_per_handle: str = "5/15 minutes"
    """Failed sign-ins allowed for one handle (and for the operator token) in a moving window."""

    sign_in_limit_per_address: str = "50/15 minutes"
    """Failed sign-ins allowed from one client address in a moving window."""

    # The worker's own steps (docs/rules.md, "The worker").
    worker_notice_seconds: float = Field(default=300.0, ge=0)
    """How often (at most, by the clock) a worker sweeps for the notices nobody's action
    writes (follow-up due, credit warnings); 0: every pass."""

    idempotency_key_retention_days: int = Field(default=30, ge=1, le=MAX_TERM_DAYS)
    """How many days an ``Idempotency-Key`` is kept; the worker deletes older ones."""

    worker_health_file: Path | None = None
    """Where ``inmail worker`` writes its health (JSON) after each pass; none when unset.
    ``inmail worker --check-health`` reads it."""
    serve_worker_healthcheck_seconds: int = Field(default=30, ge=1)
    """How long ``inmail serve --workers N`` lets a worker process take to answer its
    supervisor's health check before killing and replacing it. uvicorn's own 5 s killed
    workers still importing the app on a busy host, again and again (docs/deploy.md)."""
    # PostgreSQL behind pgbouncer, and a read replica (docs/rules.md, "PostgreSQL behind
    # pgbouncer" and "Reads from the replica").
    pgbouncer: bool = False
    """The database URLs point at pgbouncer in transaction pooling mode: no statement is
    prepared server-side and nothing relies on session state."""

    pg_prepare_threshold: int | None = Field(default=PSYCOPG_PREPARE_THRESHOLD, ge=0)
    """psycopg's ``prepare_threshold``: runs of a query on one connection before it is
    prepared server-side; ``none`` never prepares (what ``INMAIL_PGBOUNCER=true`` forces)."""

    read_database_url: str | None = None
    """A read replica of ``database_url`` for reads that may be a moment stale (the feed,
    search, mutual connections, statements, stats); none: they read the primary."""
    # Webhook deliveries (docs/webhooks.md): retries, timeouts, batches.
    webhook_max_attempts: int = Field(default=10, ge=1, le=100)
    """Tries of one delivery before it is dead (a dead letter the operator can retry)."""

    webhook_backoff_base_seconds: float = Field(default=30.0, gt=0)
    """The backoff's first window: the wait after try n is drawn from [0, base * 2**(n-1)]."""

    webhook_backoff_cap_seconds: float = Field(default=21_600.0, gt=0)
    """The longest backoff window, in seconds (6 hours)."""

    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long a delivery waits to connect to its receiver."""

    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a delivery waits for its receiver's answer."""

    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    """Deliveries one worker claims at a time."""

    webhook_lease_seconds: int = Field(default=120, ge=1)
    """How long claimed deliveries are held; a killed worker's come back after this."""

    webhook_concurrency: int = Field(default=8, ge=1, le=64)
    """Deliveries of a batch one worker sends at the same time."""

    @field_validator("test_clock")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("INMAIL_TEST_CLOCK needs a time zone, e.g. 2026-01-31T09:00:00Z")
        try:
            return check_accepted(value, "INMAIL_TEST_CLOCK")
        except ValidationError as refused:  # pydantic reports ValueErrors as settings errors
            raise ValueError(refused.message) from None

    @field_validator("sign_in_limit_per_handle", "sign_in_limit_per_address")
    @classmethod
    def _limit(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_limit(value)  # fails at start, not at the first failed sign-in
        except ValueError:
            name = f"INMAIL_{(info.field_name or '').upper()}"
            raise ValueError(f"{name} must be a limit such as '5/15 minutes'") from None
        return value

    @field_validator("pg_prepare_threshold", mode="before")
    @classmethod
    def _never(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "none", "off"}:
            return None
        return value

    @field_validator("read_database_url")
    @classmethod
    def _same_engine(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value.startswith("sqlite"):
            raise ValueError("INMAIL_READ_DATABASE_URL must be a PostgreSQL replica's URL")
        return value

    @model_validator(mode="after")
    def _targeting_rules(self) -> Settings:
        self.targeting_rules()  # fails loudly at start, not at the first request
        return self

    def targeting_rules(self) -> TargetingRules:
        """The targeting score's rules from these settings (ValueError names a wrong one)."""
        try:
            return TargetingRules.configured(
                self.targeting_weights,
                active_days=self.targeting_active_days,
                min_history=self.targeting_min_history,
            )
        except ValidationError as refused:
            raise ValueError(refused.message) from None

    @model_validator(mode="after")
    def _reputation_rules(self) -> Settings:
        self.reputation_rules()  # fails loudly at start, not at the first send
        return self

    def reputation_rules(self) -> ReputationRules:
        """The sender-reputation numbers from these settings (ValueError names a wrong one)."""
        return ReputationRules(
            min_sent=self.reputation_min_sent,
            window_days=self.reputation_window_days,
            floor=self.reputation_floor,
            grace_days=self.reputation_grace_days,
            bulk_off_days=self.reputation_bulk_off_days,
            reports_to_ban=self.reputation_reports_to_ban,
            report_window_days=self.reputation_report_window_days,
            ban_hours=self.reputation_ban_hours,
            ladder_reset_days=self.reputation_ladder_reset_days,
        )

    @model_validator(mode="after")
    def _webhook_policy(self) -> Settings:
        self.webhook_policy()  # fails loudly at start, not at the worker's first pass
        return self

    def webhook_policy(self) -> DeliveryPolicy:
        """How the worker sends webhooks, from these settings (ValueError names a wrong one)."""
        if self.webhook_backoff_cap_seconds < self.webhook_backoff_base_seconds:
            raise ValueError("INMAIL_WEBHOOK_BACKOFF_CAP_SECONDS must be at least the base")
        retry = RetryPolicy(
            self.webhook_max_attempts,
            timedelta(seconds=self.webhook_backoff_base_seconds),
            timedelta(seconds=self.webhook_backoff_cap_seconds),
        )
        return DeliveryPolicy(
            retry,
            self.webhook_connect_timeout_seconds,
            self.webhook_read_timeout_seconds,
            self.webhook_batch_size,
            timedelta(seconds=self.webhook_lease_seconds),
            self.webhook_concurrency,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def request_threads(self) -> int:
        """``threads``, or its default for the engine (see ``threads``)."""
        if self.threads is not None:
            return self.threads
        return SQLITE_THREADS if self.is_sqlite else self.pool_size
