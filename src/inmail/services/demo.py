"""Demo data: members on every plan with a few months of history, for `make demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inmail.services.auth import issue_token
from inmail.services.context import Deps
from inmail.services.credits import buy_pack, spend_credits, update_overage_settings
from inmail.services.members import create_member, list_members
from inmail.services.passwords import set_password
from inmail.services.subscriptions import change_plan

DEMO_MEMBERS = (
    ("ada", "Ada Lovelace", "recruiter", "Analytical Engines", "Talent partner"),
    ("grace", "Grace Hopper", "premium_business", "Navy Labs", "Compiler engineer"),
    ("alan", "Alan Turing", "sales_navigator_professional", "Bletchley", "Account executive"),
    ("katherine", "Katherine Johnson", "recruiter_lite", "NASA", "Hiring manager"),
    ("edsger", "Edsger Dijkstra", "recruiter_corporate", "Eindhoven", "Head of talent"),
    ("barbara", "Barbara Liskov", "basic", "MIT", "Professor"),
    ("linus", "Linus Torvalds", "basic", "Kernel", "Maintainer"),
)


DEMO_PASSWORD = "inmail-demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    handle: str
    plan: str
    token: str
    password: str = DEMO_PASSWORD


def load_demo_data(deps: Deps, *, now: datetime) -> list[DemoLogin] | None:
    """Create the demo members (once) with about three months of credit history.

    Returns a token for each demo member (shown once), or None when demo data exists.
    """
    if list_members(deps, now=now, limit=1):
        return None
    start = now - timedelta(days=95)
    ids = {}
    for handle, name, plan, company, headline in DEMO_MEMBERS:
        member = create_member(
            deps, handle=handle, name=name, plan=plan, company=company, headline=headline, now=start
        )
        ids[handle] = member.id
        set_password(deps, member_id=member.id, password=DEMO_PASSWORD, now=start)
    _history(deps, ids, start)
    return [
        DemoLogin(handle, plan, issue_token(deps, member_id=ids[handle], now=now))
        for handle, _, plan, _, _ in DEMO_MEMBERS
    ]


def _history(deps: Deps, ids: dict[str, str], start: datetime) -> None:
    """Spends across cycles, a pack, an overage purchase and a scheduled downgrade."""
    for day in range(0, 90, 9):
        at = start + timedelta(days=day, hours=3)
        for handle in ("ada", "grace", "edsger"):
            spend_credits(
                deps, member_id=ids[handle], cost=1, reference=f"demo:{handle}:{day}", now=at
            )
    buy_pack(deps, member_id=ids["grace"], pack="pack_5", now=start + timedelta(days=20))
    alan = ids["alan"]
    for n in range(17):
        at = start + timedelta(days=2, minutes=n)
        spend_credits(deps, member_id=alan, cost=1, reference=f"demo:alan:{n}", now=at)
    update_overage_settings(
        deps, member_id=alan, auto_overage=True, limit_minor=5000, now=start + timedelta(days=3)
    )
    change_plan(
        deps, member_id=ids["katherine"], plan="premium_business", now=start + timedelta(days=40)
    )
