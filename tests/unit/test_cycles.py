from datetime import UTC, datetime

import pytest

from inmail.domain.cycles import add_months, cycle_at, cycle_index_at, cycle_start, require_utc
from inmail.domain.errors import ValidationError


def utc(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "expected_starts"),
    [
        (
            utc(2026, 1, 31),
            [utc(2026, 2, 28), utc(2026, 3, 31), utc(2026, 4, 30), utc(2026, 5, 31)],
        ),
        (
            utc(2024, 1, 31),
            [utc(2024, 2, 29), utc(2024, 3, 31), utc(2024, 4, 30), utc(2024, 5, 31)],
        ),
        (
            utc(2026, 1, 30),
            [utc(2026, 2, 28), utc(2026, 3, 30), utc(2026, 4, 30), utc(2026, 5, 30)],
        ),
        (
            utc(2026, 1, 29),
            [utc(2026, 2, 28), utc(2026, 3, 29), utc(2026, 4, 29), utc(2026, 5, 29)],
        ),
        (
            utc(2024, 1, 29),
            [utc(2024, 2, 29), utc(2024, 3, 29), utc(2024, 4, 29), utc(2024, 5, 29)],
        ),
        (
            utc(2024, 2, 29),
            [utc(2024, 3, 29), utc(2024, 4, 29), utc(2024, 5, 29), utc(2024, 6, 29)],
        ),
        (
            utc(2025, 12, 31),
            [utc(2026, 1, 31), utc(2026, 2, 28), utc(2026, 3, 31), utc(2026, 4, 30)],
        ),
    ],
)
def test_cycles_start_on_the_anchor_day_clamped_to_the_month(
    anchor: datetime, expected_starts: list[datetime]
) -> None:
    assert [cycle_start(anchor, k) for k in range(1, 5)] == expected_starts


def test_clamping_never_drifts_a_31st_anchor_to_the_28th() -> None:
    anchor = utc(2026, 1, 31)
    assert cycle_start(anchor, 12) == utc(2027, 1, 31)
    assert cycle_start(anchor, 13) == utc(2027, 2, 28)
    assert cycle_start(anchor, 14) == utc(2027, 3, 31)


def test_a_february_29th_anchor_falls_back_to_the_28th_in_common_years() -> None:
    assert cycle_start(utc(2024, 2, 29), 12) == utc(2025, 2, 28)
    assert cycle_start(utc(2024, 2, 29), 48) == utc(2028, 2, 29)


@pytest.mark.parametrize(
    ("now", "index"),
    [
        (utc(2026, 1, 31, 8), -1),
        (utc(2026, 1, 31), 0),
        (utc(2026, 2, 28, 8), 0),
        (utc(2026, 2, 28), 1),
        (utc(2026, 3, 31, 8), 1),
        (utc(2026, 3, 31), 2),
        (utc(2027, 2, 28, 10), 13),
    ],
)
def test_the_cycle_containing_a_moment(now: datetime, index: int) -> None:
    assert cycle_index_at(utc(2026, 1, 31), now) == index


def test_a_cycle_knows_how_much_of_it_is_left() -> None:
    cycle = cycle_at(utc(2026, 4, 1, 0), utc(2026, 4, 16, 0))
    assert (cycle.start, cycle.end) == (utc(2026, 4, 1, 0), utc(2026, 5, 1, 0))
    left, whole = cycle.remaining_fraction(utc(2026, 4, 16, 0))
    assert left * 2 == whole


def test_add_months_goes_backwards_too() -> None:
    assert add_months(utc(2026, 3, 31), -1) == utc(2026, 2, 28)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        require_utc(datetime(2026, 1, 1))  # noqa: DTZ001
