"""Webhook deliveries to a real HTTP receiver, on both engines (services/webhooks.py).

Events are written with store/outbox.append directly; the worker's step
(deliver_due) runs in the test's process at times the test passes in, while
the signatures carry the system clock (receivers check it against theirs).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import pytest

from inmail.domain.errors import NotFound, WebhookDeliveryDelivered
from inmail.domain.events import Event
from inmail.domain.webhooks import DeliveryPolicy, DeliveryStatus, RetryPolicy
from inmail.services import webhooks
from inmail.services.context import Deps, PlanVersionCache
from tests.api.served import free_port
from tests.conftest import T0, _fresh_postgres
from tests.webhook_receiver import Received, Receiver, append_and_dispatch, serving

FAST = DeliveryPolicy(
    RetryPolicy(
        max_attempts=4, backoff_base=timedelta(seconds=1), backoff_cap=timedelta(seconds=10)
    ),
    connect_timeout_s=2.0,
    read_timeout_s=5.0,
    batch=20,
    lease=timedelta(minutes=5),
)


def _append(deps: Deps, *events: Event) -> list[Event]:
    return append_and_dispatch(deps, list(events), now=T0)


def _event(member: str | None, n: int, kind: str = "charge.created") -> Event:
    return Event(kind, member, T0, {"n": n, "member": member})


def _deliver(deps: Deps, at: timedelta = timedelta(0), policy: DeliveryPolicy = FAST) -> str:
    report = webhooks.deliver_due(deps, clock=lambda: T0 + at, policy=policy)
    return str(report)


def _endpoint(deps: Deps, url: str, events: list[str] | None = None) -> webhooks.CreatedEndpoint:
    return webhooks.create_endpoint(deps, url=url, events=events or ["*"], secret=None, now=T0)


def _statuses(deps: Deps, endpoint_id: str) -> dict[str, DeliveryStatus]:
    found = webhooks.list_deliveries(deps, endpoint_id, limit=200)
    return {d.event_id: d.status for d in found}


def _first_arrivals(got: list[Received]) -> dict[str | None, list[int]]:
    """Per member, the event numbers in the order each was first accepted."""
    seen: set[str] = set()
    order: dict[str | None, list[int]] = defaultdict(list)
    for r in got:
        event = r.event
        if event["id"] not in seen:
            seen.add(event["id"])
            order[event["member_id"]].append(event["data"]["n"])
    return order


def test_an_event_reaches_its_endpoint_signed_so_the_standard_library_verifies_it(
    deps: Deps,
) -> None:
    with serving(Receiver()) as receiver:
        endpoint = _endpoint(deps, receiver.url)
        receiver.secret = endpoint.secret
        (event,) = _append(deps, _event("m_1", 1))
        _deliver(deps)
    (got,) = receiver.got
    assert endpoint.secret.startswith("whsec_")
    assert got.verified
    assert got.headers["webhook-id"] == event.id
    assert got.headers["content-type"] == "application/json"
    assert got.event == {
        "id": event.id,
        "type": "charge.created",
        "member_id": "m_1",
        "at": "2026-01-31T09:00:00Z",
        "data": {"n": 1, "member": "m_1"},
    }
    (delivery,) = webhooks.list_deliveries(deps, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert delivery.delivered_at == T0


def test_an_endpoint_gets_the_types_it_chose_from_the_events_after_it_was_made(
    deps: Deps,
) -> None:
    _append(deps, _event("m_1", 0))  # before the endpoint: not its business
    with serving(Receiver()) as receiver:
        endpoint = _endpoint(deps, receiver.url, ["charge.created"])
        _append(deps, _event("m_1", 1), _event("m_1", 2, "ledger.spent"), _event(None, 3))
        _deliver(deps)
    # Order is promised per member only: m_1's event and the operator's may arrive either way.
    assert sorted(r.event["data"]["n"] for r in receiver.got) == [1, 3]
    assert webhooks.get_endpoint(deps, endpoint.id).pending == 0


def test_a_receiver_down_then_up_gets_every_event_in_member_order_with_the_same_ids(
    deps: Deps,
) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    endpoint = _endpoint(deps, f"http://127.0.0.1:{port}/hooks")
    events = _append(deps, *[_event(f"m_{n % 3}", n) for n in range(12)])
    _deliver(deps)
    (one,) = [d for d in webhooks.list_deliveries(deps, endpoint.id) if d.attempts > 0][:1]
    assert one.last_error is not None
    assert "Connect" in one.last_error
    assert webhooks.get_endpoint(deps, endpoint.id).pending == 12

    receiver = Receiver()
    receiver.fail_next = 4  # up, but answering 500 at first
    with serving(receiver, port):
        receiver.secret = endpoint.secret
        for minute in range(1, 30):
            _deliver(deps, timedelta(minutes=minute))
            if webhooks.get_endpoint(deps, endpoint.id).pending == 0:
                break
    assert set(_statuses(deps, endpoint.id).values()) == {DeliveryStatus.DELIVERED}
    got = receiver.got
    assert all(r.verified and r.headers["webhook-id"] == r.event["id"] for r in got)
    assert {r.event["id"] for r in receiver.accepted()} == {e.id for e in events}
    retried = [r for r in got if r.answered == 500]
    assert retried, "the receiver's 500s were retried"
    for failed in retried:  # a retry carries the same id (receivers deduplicate on it)
        assert any(
            r.headers["webhook-id"] == failed.headers["webhook-id"] for r in receiver.accepted()
        )
    assert _first_arrivals(receiver.accepted()) == {
        "m_0": [0, 3, 6, 9],
        "m_1": [1, 4, 7, 10],
        "m_2": [2, 5, 8, 11],
    }


def test_a_delivery_goes_dead_after_the_cap_and_the_operators_retry_sends_it(
    deps: Deps,
) -> None:
    receiver = Receiver()
    receiver.status = 500
    with serving(receiver):
        endpoint = _endpoint(deps, receiver.url)
        first, second = _append(deps, _event("m_1", 1), _event("m_1", 2))
        for minute in range(FAST.retry.max_attempts):
            _deliver(deps, timedelta(minutes=minute))
        assert _statuses(deps, endpoint.id) == {
            first.id: DeliveryStatus.DEAD,  # four tries, all 500
            second.id: DeliveryStatus.PENDING,  # tried once, right after the first went dead
        }
        # The second waited behind the first while it was pending: order per member.
        assert [r.event["id"] for r in receiver.got] == [first.id] * 4 + [second.id]
        (dead,) = webhooks.list_deliveries(deps, endpoint.id, status=DeliveryStatus.DEAD)
        assert (dead.attempts, dead.last_status_code) == (4, 500)
        assert dead.last_error == "the receiver answered 500"

        receiver.status = 200
        _deliver(deps, timedelta(minutes=10))  # a dead letter blocks no later event
        assert _statuses(deps, endpoint.id)[second.id] is DeliveryStatus.DELIVERED

        retried = webhooks.retry_delivery(deps, endpoint.id, dead.id, now=T0 + timedelta(hours=1))
        assert (retried.status, retried.attempts) == (DeliveryStatus.PENDING, 0)
        assert retried.next_attempt_at == T0 + timedelta(hours=1)
        _deliver(deps, timedelta(hours=1))
    assert _statuses(deps, endpoint.id)[first.id] is DeliveryStatus.DELIVERED
    assert receiver.accepted()[-1].headers["webhook-id"] == first.id
    with pytest.raises(WebhookDeliveryDelivered):
        webhooks.retry_delivery(deps, endpoint.id, dead.id, now=T0 + timedelta(hours=2))


def test_unknown_endpoints_and_deliveries_are_not_found_and_a_deleted_endpoint_gets_nothing(
    deps: Deps,
) -> None:
    with serving(Receiver()) as receiver:
        endpoint = _endpoint(deps, receiver.url)
        _append(deps, _event("m_1", 1))
        webhooks.delete_endpoint(deps, endpoint.id)
        _deliver(deps)
    assert receiver.got == []
    with pytest.raises(NotFound):
        webhooks.get_endpoint(deps, endpoint.id)
    with pytest.raises(NotFound):
        webhooks.delete_endpoint(deps, endpoint.id)
    with pytest.raises(NotFound):
        webhooks.list_deliveries(deps, endpoint.id)
    other = _endpoint(deps, "http://127.0.0.1:9/hooks")
    with pytest.raises(NotFound):
        webhooks.retry_delivery(deps, other.id, "dlv_unknown", now=T0)


@pytest.fixture
def pg_deps(postgres_url: str) -> Iterator[Deps]:
    db = _fresh_postgres(postgres_url)
    yield Deps(db, PlanVersionCache())
    db.dispose()


@pytest.mark.postgres
def test_two_workers_on_postgresql_deliver_each_event_once_in_member_order(
    pg_deps: Deps,
) -> None:
    deps = pg_deps
    members, per_member = 8, 15
    receiver = Receiver()
    receiver.delay_s = 0.002  # both workers are mid-batch at once
    with serving(receiver):
        endpoint = _endpoint(deps, receiver.url)
        receiver.secret = endpoint.secret
        events = _append(
            deps, *[_event(f"m_{m}", n) for n in range(per_member) for m in range(members)]
        )
        small = DeliveryPolicy(FAST.retry, 2.0, 5.0, batch=4, lease=timedelta(minutes=5))
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(200):
                    webhooks.deliver_due(deps, clock=lambda: T0, policy=small)
                    if webhooks.get_endpoint(deps, endpoint.id).pending == 0:
                        return
            except BaseException as failed:  # reported below, not lost in the thread
                errors.append(failed)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    accepted = receiver.accepted()
    assert sorted(r.event["id"] for r in accepted) == sorted(e.id for e in events)  # each once
    assert all(r.verified for r in accepted)
    expected = list(range(per_member))
    assert _first_arrivals(accepted) == {f"m_{m}": expected for m in range(members)}
