"""Targeting reads each candidate's plan as of now, on SQLite and PostgreSQL (docs/rules.md:
"every account is read as of now"): a renewal due since their last visit is applied first."""

from __future__ import annotations

from tests.api.conftest import Api


def test_an_open_profile_stops_counting_once_its_owners_cancel_takes_effect(api: Api) -> None:
    ada, ola = api.member("premium_business"), api.member("premium_business")
    opened = api.client.put("/v1/me/settings", json={"open_profile": True}, headers=ola.auth)
    assert opened.status_code == 200, opened.text

    def ranked() -> dict[str, object]:
        answer = api.client.post(
            "/v1/me/targeting", json={"candidates": [ola.id]}, headers=ada.auth
        )
        assert answer.status_code == 200, answer.text
        item: dict[str, object] = answer.json()["items"][0]
        return item

    before = ranked()
    assert (before["channel"], before["cost_credits"], before["score"]) == ("open_profile", 0, 4)
    cancel = api.client.put("/v1/me/subscription", json={"plan": "basic"}, headers=ola.auth)
    assert cancel.status_code == 200, cancel.text
    assert ranked()["channel"] == "open_profile"  # on her paid plan until the cycle ends
    api.advance(days=31)  # her cycle ended: she is on Basic, where no profile is open
    after = ranked()
    assert (after["channel"], after["cost_credits"], after["score"]) == ("inmail", 1, 0)
    assert after["member"]["plan"] == "basic"  # type: ignore[index]
