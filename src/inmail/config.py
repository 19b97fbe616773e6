"""Settings: the only place that reads the environment (prefix ``INMAIL_``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inmail.domain.errors import ValidationError
from inmail.domain.timeline import check_accepted

DEFAULT_DATABASE_URL = "sqlite:///inmail.db"


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

    session_secret: str | None = None
    """Signs the web app's session cookies; by default a random one kept in the database."""

    secure_cookies: bool = False
    """Send the session cookie over HTTPS only (turn on behind TLS)."""

    group_message_monthly_limit: int = 15
    """New group-message conversations a member may start per calendar month (UTC)."""

    max_body_bytes: int = Field(default=1_048_576, ge=1)
    """The largest request body accepted, in bytes; a larger one is refused with 413."""

    bulk_send_max_recipients: int = Field(default=500, ge=1)
    """The most recipients one bulk send may list; more is refused with 422."""

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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
