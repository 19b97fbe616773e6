"""The member's statement on both engines: newest first, pages both ways, lines in words."""

from inmail.services.context import Deps
from inmail.services.credits import buy_pack, spend_credits
from inmail.services.statement import by_cycle, statement_page
from inmail.services.statements import get_credits
from tests.conftest import T0
from tests.helpers import days, ledger, new_member


def test_the_statement_pages_newest_first_and_back_again(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0 - days(100))
    for n in range(12):
        at = T0 - days(90 - 7 * n)
        spend_credits(deps, member_id=member, cost=1, reference=f"order:{n}", now=at)
    every = [line.id for line in ledger(deps, member, T0)][::-1]  # newest first

    first = statement_page(deps, member_id=member, now=T0, limit=5)
    assert [s.line.id for s in first.lines] == every[:5]
    assert first.newer is None
    assert first.older == every[4]
    second = statement_page(deps, member_id=member, now=T0, before=first.older, limit=5)
    assert [s.line.id for s in second.lines] == every[5:10]
    assert second.newer == every[5]
    back = statement_page(deps, member_id=member, now=T0, after=second.newer, limit=5)
    assert [s.line.id for s in back.lines] == every[:5]
    last = statement_page(deps, member_id=member, now=T0, before=every[-3], limit=5)
    assert ([s.line.id for s in last.lines], last.older) == (every[-2:], None)


def test_statement_lines_say_what_they_were_and_the_current_cycle_comes_first(
    deps: Deps,
) -> None:
    member = new_member(deps, "premium_business", T0 - days(40))
    buy_pack(deps, member_id=member, pack="pack_5", now=T0)
    shown = statement_page(deps, member_id=member, now=T0)
    words = [s.said.text for s in shown.lines]
    assert words == [
        "Pack of 5",
        "Renewal, cycle 2: plan credits",
        "Renewal, cycle 1: plan credits",
    ]
    cycle_start = get_credits(deps, member_id=member, now=T0).cycle_start
    periods = by_cycle(shown.lines, cycle_start)
    assert [(p.current, len(p.lines)) for p in periods] == [(True, 2), (False, 1)]
