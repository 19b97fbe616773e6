"""Times as SQLite stores them (store/tables.py): the text UTCDateTime writes and reads is the
text SQLAlchemy's own DateTime wrote and read before (files written by older releases read
back the same), aware UTC both ways; other stored forms still read as before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import DateTime, TypeEngine

from inmail.store.tables import UTCDateTime, from_sqlite_text, sqlite_text

SQLITE = sqlite.dialect()


def _processors(kind: TypeEngine[datetime]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The type's (write, read) conversions on SQLite."""
    on_sqlite = kind.dialect_impl(SQLITE)
    write, read = on_sqlite.bind_processor(SQLITE), on_sqlite.result_processor(SQLITE, None)
    assert write is not None
    assert read is not None
    return write, read


WRITE, READ = _processors(UTCDateTime())
# SQLAlchemy's own conversion of naive datetimes, which UTCDateTime ran before.
SQLA_WRITE, SQLA_READ = _processors(DateTime())

moments = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - bounds for naive values, zoned below
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    ),
)


@given(moments)
def test_written_as_sqlalchemy_wrote_the_utc_wall_time_and_read_back_equal(
    moment: datetime,
) -> None:
    stored = WRITE(moment)
    assert stored == sqlite_text(moment) == SQLA_WRITE(moment.astimezone(UTC).replace(tzinfo=None))
    back = READ(stored)
    assert back == moment == SQLA_READ(stored).replace(tzinfo=UTC)
    assert back.tzinfo is UTC
    assert from_sqlite_text(stored) == moment


def test_the_stored_text_has_a_four_digit_year_and_six_digit_microseconds() -> None:
    assert sqlite_text(datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC)) == "0999-03-04 05:06:07.000000"
    noon_in_paris = datetime(2026, 1, 15, 13, 0, 0, 250, tzinfo=timezone(timedelta(hours=1)))
    assert sqlite_text(noon_in_paris) == "2026-01-15 12:00:00.000250"


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        WRITE(datetime(2026, 1, 15))  # noqa: DTZ001 - naive on purpose


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("2026-01-15 12:00:00", datetime(2026, 1, 15, 12, tzinfo=UTC)),  # CURRENT_TIMESTAMP's
        ("2026-01-15 12:00:00.5", datetime(2026, 1, 15, 12, 0, 0, 500_000, tzinfo=UTC)),
        ("2026-01-15", datetime(2026, 1, 15, tzinfo=UTC)),  # a date alone: SQLAlchemy's parser
        (None, None),
    ],
)
def test_other_stored_forms_read_as_aware_utc(stored: str | None, read: datetime | None) -> None:
    found = READ(stored)
    assert found == read
    assert found is None or found.tzinfo is UTC


def test_a_date_alone_is_not_taken_for_a_time() -> None:
    with pytest.raises(ValueError, match="not a stored date and time"):
        from_sqlite_text("2026-01-15")
