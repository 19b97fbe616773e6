"""Templates on each engine: the values gathered for a recipient, rendering many at once,
sending from a template, and the response counts per template and variant."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from inmail.domain.errors import (
    NotFound,
    TemplatePlaceholderMissing,
    UnknownMember,
    ValidationError,
)
from inmail.domain.templates import PLACEHOLDERS, Letter, TemplateText, Variant
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.services.groups import create_group, join_group
from inmail.services.inmail import decline, post_in_thread, send_inmail
from inmail.services.members import create_member
from inmail.services.templates import (
    Rendered,
    create_template,
    delete_template,
    render_batch,
    render_for,
    replace_template,
    template_stats,
)
from inmail.store.tables import connections, messages, templates
from tests.conftest import T0
from tests.helpers import balance, days, new_member
from tests.integration.test_send_concurrency import together

NOW = T0 + days(1)
EVERYTHING = " | ".join(f"{name}={{{name}}}" for name in PLACEHOLDERS)


def _person(
    deps: Deps,
    handle: str,
    name: str,
    *,
    company: str = "",
    school: str = "",
    headline: str = "",
    interests: tuple[str, ...] = (),
) -> str:
    return create_member(
        deps,
        handle=handle,
        name=name,
        plan="premium_business",
        now=T0,
        company=company,
        school=school,
        headline=headline,
        interests=interests,
    ).id


def _template(
    deps: Deps, owner: str, body: str, subject: str = "Hello", b: Letter | None = None
) -> str:
    text = TemplateText(Letter(subject, body), b)
    return create_template(deps, owner_id=owner, name="Outreach", text=text, now=NOW).id


def _connect_at(deps: Deps, x: str, y: str, at: datetime) -> None:
    a, b = sorted((x, y))
    with deps.db.write() as conn:
        conn.execute(connections.insert().values(a=a, b=b, created_at=at))


def test_every_placeholder_is_filled_from_the_database(deps: Deps) -> None:
    me = _person(deps, "grace", "Grace Hopper", school="Yale", interests=("chess", "Compilers"))
    ada = _person(
        deps,
        "ada",
        "Ada Lovelace",
        headline="Analyst",
        company="Engines Ltd",
        school="YALE",
        interests=("poetry", "compilers", "chess"),
    )
    for name in ("Zebra club", "Analytical engines"):
        group = create_group(deps, owner_id=me, name=name, description="", closed=False, now=NOW).id
        join_group(deps, member_id=ada, group_id=group, now=NOW)
    later, earlier = (
        _person(deps, "alan", "Alan Turing"),
        _person(deps, "babbage", "Charles Babbage"),
    )
    _connect_at(deps, me, later, NOW)
    _connect_at(deps, me, earlier, T0)  # the sender has known Charles longer
    for mutual in (later, earlier):
        _connect_at(deps, ada, mutual, NOW)
    template = _template(deps, me, EVERYTHING)
    rendered = render_for(deps, owner_id=me, template_id=template, to=ada, now=NOW)
    assert rendered.body == (
        "first_name=Ada | last_name=Lovelace | company=Engines Ltd | school=YALE | "
        "headline=Analyst | shared_group=Analytical engines | shared_school=YALE | "
        "shared_interest=compilers | mutual_connection=Charles Babbage | my_name=Grace Hopper"
    )
    assert (rendered.template_id, rendered.variant, rendered.recipient_id) == (
        template,
        Variant.A,
        ada,
    )


def test_a_pending_membership_is_no_shared_group(deps: Deps) -> None:
    me, ada = _person(deps, "grace", "Grace Hopper"), _person(deps, "ada", "Ada Lovelace")
    group = create_group(deps, owner_id=me, name="Closed", description="", closed=True, now=NOW).id
    join_group(deps, member_id=ada, group_id=group, now=NOW)  # a request, not yet a member
    template = _template(deps, me, "{shared_group|no group}")
    assert render_for(deps, owner_id=me, template_id=template, to=ada, now=NOW).body == "no group"


def test_a_missing_value_names_each_placeholder_and_the_recipient(deps: Deps) -> None:
    me, plato = _person(deps, "grace", "Grace Hopper"), _person(deps, "plato", "Plato")
    template = _template(deps, me, "Dear {first_name} {last_name} of {company}", "{school}")
    with pytest.raises(TemplatePlaceholderMissing) as refused:
        render_for(deps, owner_id=me, template_id=template, to=plato, now=NOW)
    assert [(m.placeholder, m.field) for m in refused.value.missing] == [
        ("school", "subject"),
        ("last_name", "body"),
        ("company", "body"),
    ]
    assert refused.value.recipient == plato


def test_a_batch_renders_each_recipient_or_says_why_not(deps: Deps) -> None:
    me = _person(deps, "grace", "Grace Hopper")
    people = [
        _person(deps, f"p{i}", f"Person {i}", company="Acme" if i % 2 else "") for i in range(4)
    ]
    b = Letter("B for {first_name}", "B body")
    template = _template(deps, me, "A at {company}", "A for {first_name}", b)
    recipients = [*people, "m_nobody", me]
    outcomes = render_batch(deps, owner_id=me, template_id=template, recipients=recipients, now=NOW)
    assert isinstance(outcomes[0], TemplatePlaceholderMissing)  # A, no company
    assert outcomes[1] == Rendered(people[1], template, Variant.B, "B for Person", "B body")
    assert isinstance(outcomes[2], TemplatePlaceholderMissing)
    assert outcomes[3] == Rendered(people[3], template, Variant.B, "B for Person", "B body")
    assert isinstance(outcomes[4], UnknownMember)
    assert isinstance(outcomes[5], ValidationError)
    only_a = render_batch(
        deps, owner_id=me, template_id=template, recipients=people[1::2], now=NOW, variant=Variant.A
    )
    assert [o.body for o in only_a if isinstance(o, Rendered)] == ["A at Acme", "A at Acme"]


def test_another_members_or_a_deleted_template_is_not_found(deps: Deps) -> None:
    me, other = _person(deps, "grace", "Grace Hopper"), _person(deps, "ada", "Ada Lovelace")
    template = _template(deps, me, "Hi")
    with pytest.raises(NotFound):
        render_for(deps, owner_id=other, template_id=template, to=me, now=NOW)
    delete_template(deps, owner_id=me, template_id=template, now=NOW)
    with pytest.raises(NotFound):
        render_for(deps, owner_id=me, template_id=template, to=other, now=NOW)
    with pytest.raises(NotFound):
        replace_template(
            deps,
            owner_id=me,
            template_id=template,
            name="x",
            text=TemplateText(Letter("s", "b")),
            now=NOW,
        )


def test_a_send_from_a_template_keeps_the_rendered_text_the_template_and_the_variant(
    deps: Deps,
) -> None:
    me, ada = _person(deps, "grace", "Grace Hopper"), _person(deps, "ada", "Ada Lovelace")
    b = Letter("B: hi {first_name}", "B body for {first_name}")
    template = _template(deps, me, "A body", "A subject", b)
    sent = send_inmail(deps, sender_id=me, to=ada, template_id=template, variant=Variant.B, now=NOW)
    with deps.db.read() as conn:
        row = conn.execute(select(messages).where(messages.c.id == sent.id)).one()
    assert (row.subject, row.body) == ("B: hi Ada", "B body for Ada")
    assert (row.template_id, row.variant) == (template, "b")
    assert balance(deps, me, NOW) == 24


def test_a_send_refused_for_a_missing_placeholder_charges_nothing(deps: Deps) -> None:
    me, plato = _person(deps, "grace", "Grace Hopper"), _person(deps, "plato", "Plato")
    template = _template(deps, me, "Dear {last_name}")
    with pytest.raises(TemplatePlaceholderMissing):
        send_inmail(
            deps, sender_id=me, to=plato, template_id=template, now=NOW, idempotency_key="k1"
        )
    assert balance(deps, me, NOW) == 25
    with deps.db.read() as conn:
        assert conn.execute(select(messages)).all() == []


def test_a_retried_template_send_answers_the_first_even_after_an_edit(deps: Deps) -> None:
    me, ada = _person(deps, "grace", "Grace Hopper"), _person(deps, "ada", "Ada Lovelace")
    template = _template(deps, me, "first text")
    first = send_inmail(
        deps, sender_id=me, to=ada, template_id=template, now=NOW, idempotency_key="k"
    )
    text = TemplateText(Letter("new", "second text"))
    replace_template(deps, owner_id=me, template_id=template, name="n", text=text, now=NOW)
    again = send_inmail(
        deps, sender_id=me, to=ada, template_id=template, now=NOW, idempotency_key="k"
    )
    assert again == first
    assert balance(deps, me, NOW) == 24


def test_stats_count_each_template_and_variant(deps: Deps) -> None:
    me = new_member(deps, "recruiter", T0)
    b = Letter("B", "B body")
    template = _template(deps, me, "A body", "A", b)
    unused = _template(deps, me, "never sent")
    people = [new_member(deps, "basic", T0) for _ in range(5)]
    sent = [
        send_inmail(deps, sender_id=me, to=p, template_id=template, variant=v, now=NOW)
        for p, v in zip(
            people, [Variant.A, Variant.A, Variant.B, Variant.B, Variant.A], strict=True
        )
    ]
    post_in_thread(deps, member_id=people[0], thread_id=sent[0].thread_id, body="yes", now=NOW)
    send_inmail(
        deps, sender_id=me, to=new_member(deps, "basic", T0), subject="s", body="b", now=NOW
    )
    later = NOW + days(10)
    stats = {s.template_id: s for s in template_stats(deps, owner_id=me, now=later)}
    assert set(stats) == {template, unused}
    mine = stats[template]
    assert (mine.total.sent, mine.total.answered, mine.total.pending_under_30_days) == (5, 1, 4)
    (va, a), (vb, b_counts) = mine.variants
    assert (va, a.sent, a.answered, a.counted) == (Variant.A, 3, 1, 1)
    assert (vb, b_counts.sent, b_counts.counted, b_counts.response_rate) == (Variant.B, 2, 0, None)
    assert stats[unused].total.sent == 0
    delete_template(deps, owner_id=me, template_id=template, now=later)
    decline(deps, member_id=people[2], thread_id=sent[2].thread_id, now=NOW + days(40))  # late
    after = template_stats(deps, owner_id=me, now=NOW + days(50))
    gone = next(s for s in after if s.template_id == template)
    assert gone.deleted
    # 50 days on: every send is counted; the decline came after 30 days.
    assert (gone.total.counted, gone.total.answered, gone.total.declined) == (5, 1, 0)
    assert gone.total.response_rate == 0.2


# ---- concurrency: keyed creation and keyed sends from a template, on both engines


def test_concurrent_creations_with_one_key_make_one_template(deps: Deps) -> None:
    me = _person(deps, "grace", "Grace Hopper")
    text = TemplateText(Letter("Hello {first_name}", "Body"))

    def create(_: int) -> str:
        made = create_template(
            deps, owner_id=me, name="Once", text=text, now=NOW, idempotency_key="same-key"
        )
        return made.id

    results = together(8, create)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(set(results)) == 1
    with deps.db.read() as conn:
        assert conn.execute(select(templates.c.id)).scalars().all() == [results[0]]


def test_concurrent_template_sends_with_one_key_send_and_charge_once(deps: Deps) -> None:
    me, ada = _person(deps, "grace", "Grace Hopper"), _person(deps, "ada", "Ada Lovelace")
    template = _template(deps, me, "Hi {first_name}")

    def send(_: int) -> str:
        sent = send_inmail(
            deps, sender_id=me, to=ada, template_id=template, now=NOW, idempotency_key="k"
        )
        return sent.id

    results = together(8, send)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(set(results)) == 1
    with deps.db.read() as conn:
        rows = conn.execute(select(messages.c.id, messages.c.body, messages.c.template_id)).all()
    assert [tuple(r) for r in rows] == [(results[0], "Hi Ada", template)]
    assert balance(deps, me, NOW) == 24
    assert run_audit(deps) == []
