"""Demo data: members on every plan with a few months of history, for `make demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inmail.domain.errors import UnknownMember
from inmail.domain.templates import Letter, TemplateText
from inmail.services.auth import issue_token
from inmail.services.context import Deps
from inmail.services.credits import buy_pack, spend_credits, update_overage_settings
from inmail.services.groups import create_group, join_group
from inmail.services.members import create_member, list_members, member_by_handle
from inmail.services.network import connect
from inmail.services.passwords import set_password
from inmail.services.settings import update_settings
from inmail.services.subscriptions import change_plan
from inmail.services.teams import assign_seat, create_team, set_seat_cap
from inmail.services.templates import create_template

DEMO_MEMBERS = (
    ("ada", "Ada Lovelace", "recruiter", "Analytical Engines", "Talent partner"),
    ("grace", "Grace Hopper", "premium_business", "Navy Labs", "Compiler engineer"),
    ("alan", "Alan Turing", "sales_navigator_professional", "Bletchley", "Account executive"),
    ("katherine", "Katherine Johnson", "recruiter_lite", "NASA", "Hiring manager"),
    ("edsger", "Edsger Dijkstra", "recruiter_corporate", "Eindhoven", "Head of talent"),
    ("barbara", "Barbara Liskov", "basic", "MIT", "Professor"),
    ("linus", "Linus Torvalds", "basic", "Kernel", "Maintainer"),
)


# School and interests of each demo member above, so the People page has something to find.
DEMO_PROFILES = {
    "ada": ("University of London", ("Mathematics", "Poetical science", "Hiring")),
    "grace": ("Yale University", ("Compilers", "COBOL", "Mentoring")),
    "alan": ("King's College, Cambridge", ("Cryptography", "Running", "Machine learning")),
    "katherine": ("West Virginia State", ("Orbital mechanics", "Mentoring")),
    "edsger": ("Leiden University", ("Algorithms", "Structured programming", "Hiring")),
    "barbara": ("Stanford University", ("Distributed systems", "Programming languages")),
    "linus": ("University of Helsinki", ("Open source", "Kernels", "Scuba diving")),
}
# The wider network: (handle, name, plan, company, headline, school, interests). Names with
# accents show that the search ignores them ("jose" finds José, "muller" finds Müller).
DEMO_NETWORK = (
    (
        "jose",
        "José García",
        "basic",
        "Acme Robotics",
        "Robotics engineer",
        "Universidad de Sevilla",
        ("Robotics", "Python", "Cycling"),
    ),
    (
        "marta",
        "Marta Müller",
        "premium_business",
        "Globex Health",
        "Product manager",
        "ETH Zürich",
        ("Healthcare", "Product management", "Climbing"),
    ),
    (
        "soren",
        "Søren Ødegaard",
        "basic",
        "Nordic Energy",
        "Data scientist",
        "Aarhus University",
        ("Climate tech", "Machine learning", "Sailing"),
    ),
    (
        "zoe",
        "Zoë Martin",
        "basic",
        "Acme Robotics",
        "Staff engineer",
        "Université de Lyon",
        ("Rust", "Embedded systems", "Photography"),
    ),
    (
        "lukasz",
        "Łukasz Kowalski",
        "basic",
        "Initech",
        "Backend engineer",
        "AGH Kraków",
        ("Go", "Distributed systems", "Chess"),
    ),
    (
        "amara",
        "Amara Okafor",
        "recruiter_lite",
        "Globex Health",
        "Talent partner",
        "University of Lagos",
        ("Hiring", "Healthcare", "Public speaking"),
    ),
    (
        "hiro",
        "Hiroshi Tanaka",
        "basic",
        "Nakatomi Trading",
        "Supply chain analyst",
        "Kyoto University",
        ("Supply chain", "Go", "Photography"),
    ),
    (
        "priya",
        "Priya Sharma",
        "premium_business",
        "Hooli",
        "Engineering manager",
        "IIT Bombay",
        ("Leadership", "Mentoring", "Python"),
    ),
    (
        "noah",
        "Noah Williams",
        "basic",
        "Hooli",
        "Site reliability engineer",
        "University of Toronto",
        ("Kubernetes", "DevOps", "Running"),
    ),
    (
        "ines",
        "Inès Lefèvre",
        "basic",
        "Umbrella Biotech",
        "Research scientist",
        "Sorbonne Université",
        ("Genomics", "Biotech", "Music"),
    ),
    (
        "omar",
        "Omar Haddad",
        "basic",
        "Initech",
        "Designer",
        "American University of Beirut",
        ("Design systems", "Accessibility", "Typography"),
    ),
    (
        "mei",
        "Mei Chen",
        "premium_business",
        "Stark Industries",
        "CTO",
        "Tsinghua University",
        ("Robotics", "Startups", "Venture capital"),
    ),
    (
        "liam",
        "Liam O'Brien",
        "basic",
        "Acme Robotics",
        "Sales director",
        "Trinity College Dublin",
        ("Sales", "Startups", "Rugby"),
    ),
    (
        "fatima",
        "Fatima Zahra",
        "basic",
        "Globex Health",
        "Nurse practitioner",
        "Université Mohammed V",
        ("Healthcare", "Education", "Running"),
    ),
    (
        "bjorn",
        "Björn Larsson",
        "basic",
        "Nordic Energy",
        "Electrical engineer",
        "KTH Stockholm",
        ("Climate tech", "Embedded systems", "Skiing"),
    ),
    (
        "chloe",
        "Chloé Dubois",
        "basic",
        "Umbrella Biotech",
        "Data engineer",
        "Université de Lyon",
        ("Data engineering", "Python", "Cooking"),
    ),
)
# Who knows whom: degrees and mutual connections for every demo member to see.
DEMO_CONNECTIONS = (
    ("ada", "grace"),
    ("ada", "edsger"),
    ("ada", "jose"),
    ("ada", "amara"),
    ("grace", "barbara"),
    ("grace", "priya"),
    ("grace", "zoe"),
    ("alan", "katherine"),
    ("alan", "soren"),
    ("edsger", "lukasz"),
    ("edsger", "zoe"),
    ("barbara", "linus"),
    ("linus", "lukasz"),
    ("jose", "zoe"),
    ("jose", "liam"),
    ("marta", "amara"),
    ("marta", "fatima"),
    ("priya", "noah"),
    ("priya", "mei"),
    ("soren", "bjorn"),
    ("ines", "chloe"),
    ("hiro", "mei"),
    ("omar", "lukasz"),
)
# Groups: (owner, name, description, closed, members).
DEMO_GROUPS = (
    (
        "grace",
        "Compiler Writers",
        "Parsers, optimisers and the people who love them.",
        False,
        ("barbara", "edsger", "zoe", "lukasz"),
    ),
    (
        "marta",
        "Healthcare Product",
        "Product people building for clinics and hospitals.",
        False,
        ("amara", "fatima", "ines"),
    ),
    ("soren", "Climate Tech Nordics", "Energy, grids and the data behind them.", True, ("bjorn",)),
    ("jose", "Robotics Guild", "Robots, sensors and embedded Rust.", False, ("zoe", "mei", "liam")),
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

    Returns a new token for each demo member, or None when demo data exists already
    (``fresh_demo_logins`` then issues new tokens).
    """
    if list_members(deps, now=now, limit=1):
        return None
    start = now - timedelta(days=95)
    ids = {}
    for handle, name, plan, company, headline in DEMO_MEMBERS:
        school, interests = DEMO_PROFILES.get(handle, ("", ()))
        member = create_member(
            deps,
            handle=handle,
            name=name,
            plan=plan,
            company=company,
            headline=headline,
            school=school,
            interests=interests,
            now=start,
        )
        ids[handle] = member.id
        set_password(deps, member_id=member.id, password=DEMO_PASSWORD, now=start)
    _history(deps, ids, start)
    _network(deps, ids, start)
    _templates(deps, ids, start)
    _team(deps, ids, now)
    return fresh_demo_logins(deps, now=now)


def fresh_demo_logins(deps: Deps, *, now: datetime) -> list[DemoLogin]:
    """A new API token for each demo member still present, with the plan they are on now.

    Earlier tokens keep working (a token is only ever stored hashed, so it cannot be shown
    again: a new one is issued instead). The plan is the one at ``now``, after the history's
    scheduled changes (katherine's downgrade).
    """
    logins = []
    for handle, *_ in DEMO_MEMBERS:
        try:
            member = member_by_handle(deps, handle, now=now)
        except UnknownMember:  # an operator may have built on the demo data differently
            continue
        token = issue_token(deps, member_id=member.id, now=now)
        logins.append(DemoLogin(handle, member.plan, token))
    return logins


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


DEMO_TEMPLATE = TemplateText(
    Letter(
        "A question about {company|your team}",
        "Hi {first_name},\n\nI am {my_name}; we both care about {shared_interest|engineering}. "
        "I am hiring for a small team and your work as {headline|an engineer} stood out. "
        "Would you be open to a 15-minute call next week?",
    ),
    Letter(
        "{first_name}, 15 minutes next week?",
        "Hi {first_name},\n\n{mutual_connection|A colleague} suggested I write to you. "
        "I am {my_name}, hiring for a small team. Could we talk for 15 minutes next week?",
    ),
)


def _templates(deps: Deps, ids: dict[str, str], start: datetime) -> None:
    """A template with an A and a B variant for each paid demo member, to try bulk sends."""
    for handle in ("alan", "ada", "grace"):
        create_template(
            deps, owner_id=ids[handle], name="Hiring hello", text=DEMO_TEMPLATE, now=start
        )


def _network(deps: Deps, ids: dict[str, str], start: datetime) -> None:
    """The wider network: more members, who knows whom, and groups (open and closed)."""
    for handle, name, plan, company, headline, school, interests in DEMO_NETWORK:
        member = create_member(
            deps,
            handle=handle,
            name=name,
            plan=plan,
            company=company,
            headline=headline,
            school=school,
            interests=interests,
            now=start,
        )
        ids[handle] = member.id
        set_password(deps, member_id=member.id, password=DEMO_PASSWORD, now=start)
    for a, b in DEMO_CONNECTIONS:
        connect(deps, a=ids[a], b=ids[b], now=start)
    update_settings(deps, member_id=ids["marta"], changes={"open_profile": True}, now=start)
    for owner, name, description, closed, members in DEMO_GROUPS:
        group = create_group(
            deps, owner_id=ids[owner], name=name, description=description, closed=closed, now=start
        )
        for handle in members:
            join_group(deps, member_id=ids[handle], group_id=group.id, now=start)


def _team(deps: Deps, ids: dict[str, str], now: datetime) -> None:
    """A team contract to look at: Globex Health's recruiting team on Recruiter Corporate,
    3 seats (amara its admin, marta capped at 10 credits a month, one seat free), and a few
    sends this month paid from the pool. It starts a week ago, so its first cycle is this
    one; seat caps count calendar months, so the sends are kept inside the current one."""
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = max(now - timedelta(days=7), month)
    team = create_team(
        deps, name="Globex Health recruiting", plan="recruiter_corporate", seats=3, now=start
    )
    assign_seat(deps, team_id=team.id, member_id=ids["amara"], admin=True, now=start)
    assign_seat(deps, team_id=team.id, member_id=ids["marta"], admin=False, now=start)
    set_seat_cap(
        deps, admin_id=ids["amara"], team_id=team.id, member_id=ids["marta"], cap=10, now=start
    )
    for n, handle in enumerate(("marta", "marta", "marta", "amara")):
        at = start + (now - start) * (n + 1) / 5  # between the start and now
        spend_credits(deps, member_id=ids[handle], cost=1, reference=f"demo:team:{n}", now=at)
