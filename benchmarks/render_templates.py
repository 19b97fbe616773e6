"""render_500_sqlite: a template rendered for 500 recipients at once against one at a time.

A bulk send renders its template for up to 500 recipients before it sends. Ours is
``render_batch``: one read transaction of four queries (the template, every profile, the
first shared group of each, the mutual connection of each) whatever the number of
recipients. The baseline is the same 500 renders as 500 calls of ``render_for``, each its
own transaction, as a loop over recipients would do. An operation on either side is the
whole list of 500 rendered; both sides read the same SQLite file (WAL), in one process,
in alternating rounds. Every recipient shares a group and connections with the sender, so
every placeholder has a value to look up.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.fixtures import NOW, open_deps, prepare
from benchmarks.report import Comparison, log
from benchmarks.timing import alternate
from inmail.domain.errors import DomainError
from inmail.domain.templates import Letter, TemplateText, Variant
from inmail.services.context import Deps
from inmail.services.groups import create_group, join_group
from inmail.services.members import create_member
from inmail.services.network import connect
from inmail.services.templates import create_template, render_batch, render_for

NAME = "render_500_sqlite"
TARGET = 5.0  # the batch renders 500 at least 5 times as fast as 500 single renders
RECIPIENTS = 500
CONNECTORS = 20  # the sender's connections, each connected to a share of the recipients
MIN_ROUNDS = 3
ROUND_SECONDS = 1.0
WARMUP_SECONDS = 0.5
TEXT = TemplateText(
    Letter(
        "A question about {company|your team}", "Hi {first_name} {last_name|}: {school|your school}"
    ),
    Letter(
        "{first_name}, 15 minutes?",
        "We are both in {shared_group|a group}; {mutual_connection|a friend} said to write. "
        "I saw {headline|your work} and we both like {shared_interest|data}. {my_name}",
    ),
)


def _graph(deps: Deps, sender: str) -> tuple[str, list[str]]:
    """A template of the sender's and 500 recipients who share something with them."""
    group = create_group(
        deps, owner_id=sender, name="Bench group", description="", closed=False, now=NOW
    ).id
    connectors = [
        create_member(deps, handle=f"via{i}", name=f"Via Connector{i}", now=NOW).id
        for i in range(CONNECTORS)
    ]
    for connector in connectors:
        connect(deps, a=sender, b=connector, now=NOW)
    recipients = []
    for i in range(RECIPIENTS):
        recipient = create_member(
            deps,
            handle=f"to{i}",
            name=f"Recipient Number{i}",
            headline="Data engineer",
            company=f"Company {i % 37}",
            school="MIT" if i % 3 else "",
            interests=("chess", "data") if i % 2 else ("poetry",),
            now=NOW,
        ).id
        join_group(deps, member_id=recipient, group_id=group, now=NOW)
        connect(deps, a=recipient, b=connectors[i % CONNECTORS], now=NOW)
        recipients.append(recipient)
    template = create_template(deps, owner_id=sender, name="Bench", text=TEXT, now=NOW).id
    return template, recipients


def _ours(deps: Deps, sender: str, template: str, recipients: list[str]) -> Callable[[], object]:
    def batch() -> object:
        outcomes = render_batch(
            deps, owner_id=sender, template_id=template, recipients=recipients, now=NOW
        )
        _check(outcomes)
        return outcomes

    return batch


def _baseline(
    deps: Deps, sender: str, template: str, recipients: list[str]
) -> Callable[[], object]:
    def one_by_one() -> object:
        return [
            render_for(
                deps,
                owner_id=sender,
                template_id=template,
                to=to,
                now=NOW,
                variant=Variant.B if i % 2 else Variant.A,
            )
            for i, to in enumerate(recipients)
        ]

    return one_by_one


def _check(outcomes: Sequence[object]) -> None:
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    if refused:
        raise RuntimeError(f"{len(refused)} renders refused, e.g. {refused[0]}")


def run(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ours.db'}"
        log(f"{NAME}: preparing {url} ({RECIPIENTS} recipients)")
        (sender,) = prepare(url, 1)
        deps = open_deps(url)
        try:
            template, recipients = _graph(deps, sender)
            result = Comparison(NAME, "sqlite", TARGET)
            rounds = alternate(
                _ours(deps, sender, template, recipients),
                _baseline(deps, sender, template, recipients),
                seconds,
                round_seconds=ROUND_SECONDS,
                min_rounds=MIN_ROUNDS,
                warmup_seconds=WARMUP_SECONDS,
            )
            for ours_sample, base_sample in rounds:
                result.add_round(ours_sample, base_sample)
        finally:
            deps.db.dispose()
    line = result.line(seconds=seconds, recipients_per_op=RECIPIENTS)
    line["ours_ms_per_500"] = round(1000 / result.ours.per_s, 1) if result.ours.per_s else None
    return line
