"""bulk_send_sqlite: recipients per second through a bulk send against single sends, on SQLite.

Ours is one bulk send of a template to :data:`RECIPIENTS` members: stored (planned and
rendered for everyone, as ``POST /v1/bulk-sends`` does) and then run, each recipient
its own atomic charge (services.bulk_sends, services.bulk_runs). The baseline is what a
member does without it: ``send_inmail`` of the same template to the same members, one
after the other. Both sides write to the same SQLite file (WAL, ``synchronous=FULL``),
at one fixed moment, in one process, in alternating rounds. Each operation is one
sender writing to all the recipients, so the ratio of operations per second is the
ratio of recipients per second; every operation takes a sender of its own (a member may
have one InMail awaiting a response from each recipient: SPEC §4).

A second comparison, against single sends of hand-written text (no template to render:
the cheapest send there is), is reported as ``ratio_vs_plain_sends``.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.fixtures import NOW, open_deps, plain_members, prepare
from benchmarks.report import Comparison, log
from benchmarks.timing import alternate
from inmail.domain.bulk import Connections
from inmail.domain.templates import Letter, TemplateText
from inmail.services.bulk_runs import run_bulk_send
from inmail.services.bulk_sends import BulkRequest, start_bulk_send
from inmail.services.context import Deps
from inmail.services.inmail import send_inmail
from inmail.services.templates import create_template

NAME = "bulk_send_sqlite"
TARGET = 1.0
RECIPIENTS = 100  # one bulk send: two batches of the runner's reads
MAX_RECIPIENTS_PER_S = 4_000
"""Above any rate either side reaches (send_inmail_sqlite's ceiling): what the sender pools
are sized by, each operation taking a sender of its own. Running out fails the run."""
MIN_ROUNDS = 3
ROUND_SECONDS = 2.0
WARMUP_SECONDS = 0.5
TEXT = TemplateText(
    Letter("A role for you, {first_name}", "Hi {first_name}, would you have 15 minutes?"),
    Letter("Quick question, {first_name}", "Hello {first_name}, is {company|your team} hiring?"),
)


class Senders:
    """Funded members with a template each, handed out once each."""

    def __init__(self, deps: Deps, members: list[str]) -> None:
        self.templates = {
            m: create_template(deps, owner_id=m, name="Bench", text=TEXT, now=NOW).id
            for m in members
        }
        self._next: Iterator[str] = iter(members)

    def take(self) -> tuple[str, str]:
        sender = next(self._next, None)
        if sender is None:
            raise RuntimeError(f"{NAME}: out of senders; raise MAX_RECIPIENTS_PER_S")
        return sender, self.templates[sender]


def bulk_sender(deps: Deps, senders: Senders, people: list[str]) -> Callable[[], object]:
    keys = itertools.count()

    def send() -> object:
        sender, template = senders.take()
        request = BulkRequest(template, tuple(people), Connections.MESSAGE, len(people))
        bulk_id = start_bulk_send(
            deps,
            owner_id=sender,
            request=request,
            now=NOW,
            idempotency_key=f"bench-{next(keys)}",
            max_recipients=len(people),
        )
        return run_bulk_send(deps, bulk_id=bulk_id, clock=lambda: NOW)

    return send


def single_sender(
    deps: Deps, senders: Senders, people: list[str], *, template: bool
) -> Callable[[], object]:
    def send() -> object:
        sender, template_id = senders.take()
        for to in people:
            if template:
                send_inmail(deps, sender_id=sender, to=to, template_id=template_id, now=NOW)
            else:
                send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=NOW)
        return None

    return send


def _senders_for(seconds: float) -> int:
    """Senders one side may take in a comparison of ``seconds``: its warm-up and rounds at
    MAX_RECIPIENTS_PER_S, one operation more per round (a round ends after its last)."""
    rounds = max(MIN_ROUNDS, round(seconds / ROUND_SECONDS))
    busy = WARMUP_SECONDS + seconds
    return math.ceil(MAX_RECIPIENTS_PER_S / RECIPIENTS * busy) + rounds + 1


def _compare(ours: Callable[[], object], base: Callable[[], object], seconds: float) -> Comparison:
    result = Comparison(NAME, "sqlite", TARGET)
    rounds = alternate(
        ours,
        base,
        seconds,
        round_seconds=ROUND_SECONDS,
        min_rounds=MIN_ROUNDS,
        warmup_seconds=WARMUP_SECONDS,
    )
    for ours_sample, base_sample in rounds:
        result.add_round(ours_sample, base_sample)
    return result


def run(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bulk.db'}"
        log(f"{NAME}: preparing {url}")
        # The main comparison's sides each take a pool; the plain one's two sides share one.
        sizes = [_senders_for(seconds), _senders_for(seconds), 2 * _senders_for(seconds / 2)]
        funded = iter(prepare(url, sum(sizes)))
        people = plain_members(url, RECIPIENTS, prefix="to")
        deps = open_deps(url)
        try:
            pools = [Senders(deps, list(itertools.islice(funded, size))) for size in sizes]
            bulk = bulk_sender(deps, pools[0], people)
            templated = single_sender(deps, pools[1], people, template=True)
            main = _compare(bulk, templated, seconds)
            log(f"{NAME}: against hand-written single sends")
            plain = _compare(
                bulk_sender(deps, pools[2], people),
                single_sender(deps, pools[2], people, template=False),
                seconds / 2,
            )
        finally:
            deps.db.dispose()
    return main.line(
        seconds=seconds,
        recipients_per_bulk=RECIPIENTS,
        ours_recipients_per_s=round(main.ours.per_s * RECIPIENTS, 1),
        baseline_recipients_per_s=round(main.baseline.per_s * RECIPIENTS, 1),
        baseline="send_inmail(template_id=...) per recipient",
        ratio_vs_plain_sends=round(plain.ratio, 3),
        plain_recipients_per_s=round(plain.baseline.per_s * RECIPIENTS, 1),
    )
