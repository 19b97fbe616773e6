"""Services and storage at the ends of the calendar, on both engines (docs/rules.md, Times).

The API refuses times outside 1970..9998, but rules and storage must still work with any
time already stored: the chart of the last cycles before 9999-12-31 or the first months
after 0001-01-01, a spend on the fast path in a three-digit year, and a PostgreSQL session
whose time zone would move a stored time off the calendar.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import make_url

from inmail.services.context import Deps
from inmail.services.credits import spend_credits
from inmail.services.statements import cycle_summaries, get_credits
from inmail.store.clock import read_test_clock, write_test_clock
from inmail.store.db import Database, make_engine
from tests.helpers import assert_audit_clean, ledger, new_member

LATEST = datetime.max.replace(tzinfo=UTC)


def test_the_chart_of_the_last_cycles_of_the_calendar(deps: Deps) -> None:
    member = new_member(deps, "premium_business", datetime(9999, 10, 31, 9, tzinfo=UTC))
    spend_credits(deps, member_id=member, cost=3, reference="inmail:1", now=LATEST)
    chart = cycle_summaries(deps, member_id=member, now=LATEST)
    # Three cycles have a date; the one that would start in January 10000 never does.
    assert [(c.start, c.granted, c.spent, c.lost) for c in chart] == [
        (datetime(9999, 10, 31, 9, tzinfo=UTC), 25, 0, 0),
        (datetime(9999, 11, 30, 9, tzinfo=UTC), 25, 0, 0),
        (datetime(9999, 12, 31, 9, tzinfo=UTC), 25, 3, 0),
    ]
    credits = get_credits(deps, member_id=member, now=LATEST)
    assert (credits.balance, credits.cycle_end, credits.next_renewal_at) == (72, None, None)
    assert_audit_clean(deps)


def test_the_chart_of_the_first_months_of_the_calendar(deps: Deps) -> None:
    member = new_member(deps, "basic", datetime(1, 1, 1, tzinfo=UTC))
    chart = cycle_summaries(deps, member_id=member, now=datetime(1, 2, 15, tzinfo=UTC))
    # No month before year 1.
    january, february = datetime(1, 1, 1, tzinfo=UTC), datetime(1, 2, 1, tzinfo=UTC)
    assert [c.start for c in chart] == [january, february]


def test_a_spend_in_a_three_digit_year_is_stored_in_the_same_format(deps: Deps) -> None:
    """On SQLite the fast path compares and writes times as text, years padded as stored."""
    start = datetime(500, 1, 31, 9, tzinfo=UTC)
    member = new_member(deps, "premium_business", start)
    spent = spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=start)
    assert spent.balance_after == 24
    # A month on, the renewal is due: the spend's guard must see it, and apply it first.
    later = datetime(500, 2, 28, 9, tzinfo=UTC)
    renewed = spend_credits(deps, member_id=member, cost=1, reference="inmail:2", now=later)
    assert renewed.balance_after == 48
    lines = ledger(deps, member, later)
    assert [(line.kind, line.amount, line.at) for line in lines] == [
        ("grant", 25, start),
        ("spend", -1, start),
        ("grant", 25, later),
        ("spend", -1, later),
    ]
    assert_audit_clean(deps)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_times_at_either_end_load_whatever_the_server_time_zone(
    postgres_url: str, zone: str
) -> None:
    url = make_url(postgres_url).update_query_dict({"options": f"-c TimeZone={zone}"})
    db = Database(make_engine(url.render_as_string(hide_password=False)))
    try:
        for moment in (LATEST, datetime(1, 1, 1, tzinfo=UTC) + timedelta(hours=1)):
            with db.write() as conn:
                write_test_clock(conn, moment)
            with db.read() as conn:
                assert read_test_clock(conn) == moment
    finally:
        db.dispose()
