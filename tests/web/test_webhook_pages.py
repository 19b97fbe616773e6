"""The operator's webhooks page: endpoints with their counts, dead letters, and the button
that sends one again. Through FastAPI's TestClient on each engine (test_admin_pages' helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain.events import Event
from inmail.domain.webhooks import DeliveryPolicy, DeliveryStatus, RetryPolicy
from inmail.services import webhooks
from tests.conftest import T0
from tests.web.test_admin_pages import ADMIN, Web
from tests.webhook_receiver import append_and_dispatch


@pytest.fixture
def operator(db_url: str) -> Iterator[Web]:
    runtime = build(Settings(database_url=db_url, admin_token=ADMIN, test_clock=T0))
    with TestClient(create_app(runtime=runtime)) as client:
        signed_in = Web(client, runtime)
        signed_in.sign_in_operator()
        yield signed_in


def test_the_page_lists_endpoints_and_dead_letters_and_sends_one_again(operator: Web) -> None:
    deps = operator.runtime.deps
    assert "No webhook endpoints yet." in operator.client.get("/admin/webhooks").text
    made = webhooks.create_endpoint(
        deps, url="http://127.0.0.1:9/billing", events=["*"], secret=None, now=T0
    )
    (event,) = append_and_dispatch(deps, [Event("charge.created", "m_7", T0, {})], now=T0)
    one_try = DeliveryPolicy(RetryPolicy(max_attempts=1), 1.0, 1.0)
    webhooks.deliver_due(deps, clock=lambda: T0, policy=one_try)  # refused: dead at once

    shown = operator.client.get("/admin/webhooks")
    assert shown.status_code == 200
    assert "http://127.0.0.1:9/billing" in shown.text
    assert "Dead letters: <strong>1</strong>" in shown.text
    (dead,) = webhooks.list_deliveries(deps, made.id, status=DeliveryStatus.DEAD)
    assert f'id="delivery-{dead.id}"' in shown.text
    assert "ConnectError" in shown.text
    assert 'aria-current="page">Webhooks' in shown.text

    sent = operator.post(f"/admin/webhooks/{made.id}/deliveries/{dead.id}/retry")
    assert sent.url.path == "/admin/webhooks"
    assert f"({event.id}) will be sent again" in sent.text
    assert "Waiting to be sent: <strong>1</strong>" in sent.text
    assert f'id="delivery-{dead.id}"' not in sent.text
    (again,) = webhooks.list_deliveries(deps, made.id)
    assert (again.status, again.attempts) == (DeliveryStatus.PENDING, 0)


def test_members_do_not_see_the_webhooks_page(operator: Web) -> None:
    webhooks.create_endpoint(
        operator.runtime.deps, url="https://secret.example.com/h", events=["*"], secret=None, now=T0
    )
    member = operator.member(password=True)
    operator.client.post("/logout", data={"csrf": operator.csrf("/admin")})
    operator.sign_in_member(member)
    page = operator.client.get("/admin/webhooks")
    assert page.status_code == 403
    assert "secret.example.com" not in page.text
