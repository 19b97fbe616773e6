"""The team endpoints (docs/api.md "Teams"): each success and each failure, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, Member

SEATS = 3


@pytest.fixture
def team(api: Api) -> tuple[dict[str, Any], Member, Member]:
    """A recruiter_corporate team of 3 seats with an admin and a seat holder on Basic."""
    body = {"name": "Acme", "plan": "recruiter_corporate", "seats": SEATS}
    made = api.client.post("/v1/admin/teams", json=body, headers=api.admin)
    assert made.status_code == 201, made.text
    admin, seat = api.member("basic"), api.member("basic")
    for who, is_admin in ((admin, True), (seat, False)):
        added = api.client.post(
            f"/v1/admin/teams/{made.json()['id']}/seats",
            json={"member": who.id, "admin": is_admin},
            headers=api.admin,
        )
        assert added.status_code == 201, added.text
    return added.json(), admin, seat


def send(api: Api, sender: Member, key: str | None = None) -> Any:
    to = api.member("basic")
    headers = sender.auth | ({} if key is None else {"Idempotency-Key": key})
    return api.client.post(
        "/v1/inmails", json={"to": to.id, "subject": "Hi", "body": "Hello"}, headers=headers
    )


def test_the_operator_creates_lists_and_reads_teams(api: Api, team: Any) -> None:
    made, admin, seat = team
    assert sorted(made["members"]) == sorted([admin.id, seat.id])
    assert made["admins"] == [admin.id]
    listed = api.client.get("/v1/admin/teams", headers=api.admin).json()
    assert [t["id"] for t in listed["items"]] == [made["id"]]
    got = api.client.get(f"/v1/admin/teams/{made['id']}", headers=api.admin)
    assert got.status_code == 200
    assert got.json()["seats"] == SEATS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "plan": "recruiter", "seats": 0}, "seats"),
        ({"name": "", "plan": "recruiter", "seats": 2}, "name"),
        ({"name": "A", "plan": "basic", "seats": 2}, "plan"),
    ],
)
def test_a_bad_team_is_refused_naming_the_field(api: Api, body: Any, field: str) -> None:
    refused = api.client.post("/v1/admin/teams", json=body, headers=api.admin)
    assert refused.status_code == 422, refused.text
    assert field in refused.text
    assert api.client.get("/v1/admin/teams", headers=api.admin).json()["items"] == []


def test_an_unknown_plan_and_an_unknown_team_are_refused(api: Api) -> None:
    body = {"name": "A", "plan": "nope", "seats": 2}
    refused = api.client.post("/v1/admin/teams", json=body, headers=api.admin)
    assert refused.json()["code"] == "unknown-plan"
    missing = api.client.get("/v1/admin/teams/tm_nope", headers=api.admin)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not-found"


def test_a_member_cannot_use_the_operator_endpoints(api: Api, team: Any) -> None:
    _, admin, _ = team
    assert api.client.get("/v1/admin/teams", headers=admin.auth).status_code in (401, 403)


def test_seats_are_one_per_member_and_limited_by_the_contract(api: Api, team: Any) -> None:
    made, admin, _ = team
    again = api.client.post(
        f"/v1/admin/teams/{made['id']}/seats", json={"member": admin.id}, headers=api.admin
    )
    assert again.status_code == 409
    third = api.member("basic")
    path = f"/v1/admin/teams/{made['id']}/seats"
    assert api.client.post(path, json={"member": third.id}, headers=api.admin).status_code == 201
    fourth = api.member("basic")
    full = api.client.post(path, json={"member": fourth.id}, headers=api.admin)
    assert full.status_code == 409
    assert "seats" in full.json()["detail"]


def test_a_seat_sends_from_the_pool_and_sees_its_usage(api: Api, team: Any) -> None:
    made, admin, seat = team
    sent = send(api, seat)
    assert sent.status_code == 201, sent.text
    assert sent.json()["balance_after"] == 75 * SEATS - 1
    mine = api.client.get("/v1/me/seat", headers=seat.auth).json()
    assert mine["used"] == 1
    assert mine["team_id"] == made["id"]
    view = api.client.get(f"/v1/teams/{made['id']}", headers=admin.auth).json()
    assert view["pool"]["balance"] == 75 * SEATS - 1
    assert {s["member_id"]: s["used"] for s in view["seat_usage"]}[seat.id] == 1


def test_a_seat_at_its_cap_gets_402_seat_cap_reached_naming_the_cap(api: Api, team: Any) -> None:
    made, admin, seat = team
    path = f"/v1/teams/{made['id']}/seats/{seat.id}/cap"
    capped = api.client.put(path, json={"monthly_cap": 1}, headers=admin.auth)
    assert capped.status_code == 200
    assert capped.json()["text"] == "0 of 1 this month"
    assert send(api, seat).status_code == 201
    refused = send(api, seat)
    assert refused.status_code == 402
    assert refused.json()["code"] == "seat-cap-reached"
    assert "1 of its 1" in refused.json()["detail"]
    assert "Member" in refused.json()["detail"]
    view = api.client.get(f"/v1/teams/{made['id']}", headers=admin.auth).json()
    assert view["pool"]["balance"] == 75 * SEATS - 1
    lower = api.client.put(path, json={"monthly_cap": 0}, headers=admin.auth)
    assert lower.status_code == 422
    assert lower.json()["code"] == "validation-error"
    mine = api.client.get("/v1/me/seat", headers=seat.auth).json()
    assert mine["text"] == "1 of 1 this month"


def test_only_the_teams_admins_manage_it(api: Api, team: Any) -> None:
    made, _, seat = team
    outsider = api.member()
    path = f"/v1/teams/{made['id']}"
    assert api.client.get(path, headers=seat.auth).json()["code"] == "forbidden"
    assert api.client.get(path, headers=outsider.auth).status_code == 404
    cap = api.client.put(f"{path}/seats/{seat.id}/cap", json={"monthly_cap": 3}, headers=seat.auth)
    assert cap.status_code == 403


def test_overage_for_seats_is_a_team_setting(api: Api, team: Any) -> None:
    made, admin, _ = team
    path = f"/v1/teams/{made['id']}/settings"
    changed = api.client.put(path, json={"seat_overage": True}, headers=admin.auth)
    assert changed.status_code == 200
    assert changed.json()["seat_overage"] is True
    bad = api.client.put(path, json={"seat_overage": "yes"}, headers=admin.auth)
    assert bad.status_code == 422


def test_a_team_admin_buys_a_pack_for_the_pool_once_per_key(api: Api, team: Any) -> None:
    made, admin, seat = team
    path = f"/v1/teams/{made['id']}/purchases"
    headers = admin.auth | {"Idempotency-Key": "pack-1"}
    first = api.client.post(path, json={"pack": "pack_5"}, headers=headers)
    again = api.client.post(path, json={"pack": "pack_5"}, headers=headers)
    assert first.status_code == 201
    assert again.json() == first.json()
    view = api.client.get(f"/v1/teams/{made['id']}", headers=admin.auth).json()
    assert view["pool"]["balance"] == 75 * SEATS + 5
    unknown = api.client.post(path, json={"pack": "pack_999"}, headers=admin.auth)
    assert unknown.json()["code"] == "unknown-pack"
    by_seat = api.client.post(path, json={"pack": "pack_5"}, headers=seat.auth)
    assert by_seat.status_code == 403


def test_the_usage_csv_lists_every_seat(api: Api, team: Any) -> None:
    made, admin, seat = team
    send(api, seat)
    got = api.client.get(f"/v1/teams/{made['id']}/usage.csv", headers=admin.auth)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    lines = got.text.splitlines()
    assert lines[0] == "member_id,handle,name,admin,monthly_cap,sends,credits_used"
    assert len(lines) == 3
    assert any(line.startswith(seat.id) for line in lines)


def test_leaving_the_team_goes_back_to_the_own_plan(api: Api, team: Any) -> None:
    made, _admin, seat = team
    gone = api.client.delete(f"/v1/admin/teams/{made['id']}/seats/{seat.id}", headers=api.admin)
    assert gone.status_code == 200
    assert seat.id not in gone.json()["members"]
    assert api.client.get("/v1/me/seat", headers=seat.auth).json() is None
    refused = send(api, seat)
    assert refused.status_code == 403
    assert refused.json()["code"] == "inmail-not-on-plan"
    again = api.client.delete(f"/v1/admin/teams/{made['id']}/seats/{seat.id}", headers=api.admin)
    assert again.status_code == 404


def test_the_operator_makes_a_seat_admin(api: Api, team: Any) -> None:
    made, _, seat = team
    path = f"/v1/admin/teams/{made['id']}/seats/{seat.id}"
    changed = api.client.put(path, json={"admin": True}, headers=api.admin)
    assert changed.status_code == 200
    assert seat.id in changed.json()["admins"]
    assert api.client.get(f"/v1/teams/{made['id']}", headers=seat.auth).status_code == 200


def test_a_seat_holders_quote_prices_the_inmail_from_the_pool(api: Api, team: Any) -> None:
    _, _, seat = team
    to = api.member("basic")
    quoted = api.client.get(f"/v1/me/quote?to={to.id}", headers=seat.auth).json()
    assert quoted["channel"] == "inmail"
    assert quoted["cost_credits"] == 1
    assert quoted["allowed"] is True


def test_a_seat_at_its_cap_is_quoted_not_allowed_with_the_refusal_it_would_get(
    api: Api, team: Any
) -> None:
    made, admin, seat = team
    path = f"/v1/teams/{made['id']}/seats/{seat.id}/cap"
    assert api.client.put(path, json={"monthly_cap": 1}, headers=admin.auth).status_code == 200
    to = api.member("basic")
    before = api.client.get(f"/v1/me/quote?to={to.id}", headers=seat.auth).json()
    assert (before["allowed"], before["cost_credits"]) == (True, 1)
    assert send(api, seat).status_code == 201
    after = api.client.get(f"/v1/me/quote?to={to.id}", headers=seat.auth).json()
    assert (after["allowed"], after["channel"], after["cost_credits"]) == (False, "inmail", 1)
    assert "used 1 of its 1 credits this month" in after["reason"]
    refused = send(api, seat)
    assert (refused.status_code, refused.json()["code"]) == (402, "seat-cap-reached")
    assert refused.json()["detail"] == after["reason"]


QUOTED = ("channel", "cost_credits", "allowed", "reason", "overage_charge")


def previews(api: Api, who: Member, to: Member) -> tuple[Any, Any, Any]:
    """(the quote, the People search's row, targeting's row) for ``to`` as ``who`` sees them."""
    quoted = api.client.get(f"/v1/me/quote?to={to.id}", headers=who.auth).json()
    found = api.client.get("/v1/members", params={"limit": 200}, headers=who.auth)
    assert found.status_code == 200, found.text
    (row,) = [m for m in found.json()["items"] if m["id"] == to.id]
    body = {"candidates": [to.id]}
    ranked = api.client.post("/v1/me/targeting", json=body, headers=who.auth)
    assert ranked.status_code == 200, ranked.text
    (target,) = ranked.json()["items"]
    return quoted, row, target


def test_a_seat_holders_search_and_targeting_price_as_the_quote_from_the_pool(
    api: Api, team: Any
) -> None:
    """The seat holder's own plan is Basic (no InMail): the team's plan and pool price the
    rows; a Basic member without a seat still sees InMail closed to them."""
    made, admin, seat = team
    to = api.member("basic")
    quoted, row, target = previews(api, seat, to)
    assert {k: row[k] for k in QUOTED} == {k: quoted[k] for k in QUOTED}
    assert (row["channel"], row["cost_credits"], row["allowed"]) == ("inmail", 1, True)
    assert (target["channel"], target["cost_credits"], target["reachable"]) == ("inmail", 1, True)

    alone = api.member("basic")
    quoted, row, target = previews(api, alone, to)
    assert {k: row[k] for k in QUOTED} == {k: quoted[k] for k in QUOTED}
    assert row["allowed"] is False
    assert "does not include InMail" in row["reason"]
    assert target["reachable"] is False

    # At its cap the rows say what the send would refuse with; targeting shows the cost only.
    path = f"/v1/teams/{made['id']}/seats/{seat.id}/cap"
    assert api.client.put(path, json={"monthly_cap": 1}, headers=admin.auth).status_code == 200
    assert send(api, seat).status_code == 201
    quoted, row, target = previews(api, seat, to)
    assert {k: row[k] for k in QUOTED} == {k: quoted[k] for k in QUOTED}
    assert (row["allowed"], row["cost_credits"]) == (False, 1)
    refused = send(api, seat)
    assert (refused.status_code, refused.json()["code"]) == (402, "seat-cap-reached")
    assert refused.json()["detail"] == row["reason"]
    assert (target["channel"], target["cost_credits"], target["reachable"]) == ("inmail", 1, True)


def test_a_seat_holders_bulk_dry_run_counts_the_pools_credits(api: Api, team: Any) -> None:
    _, _, seat = team
    body = {"name": "Hello", "subject": "Hi {first_name}", "body": "Hello {first_name}"}
    template = api.client.post("/v1/me/templates", json=body, headers=seat.auth)
    assert template.status_code == 201, template.text
    to = [api.member("basic").id for _ in range(2)]
    asked = {"template_id": template.json()["id"], "recipients": to, "dry_run": True}
    dry = api.client.post("/v1/bulk-sends", json=asked, headers=seat.auth)
    assert dry.status_code == 200, dry.text
    totals = dry.json()["totals"]
    assert totals["inmails"] == 2
    assert totals["credits_available"] == 75 * SEATS


def test_a_seats_bulk_send_stops_at_its_monthly_cap_as_its_dry_run_showed(
    api: Api, team: Any
) -> None:
    """Cap 3, one InMail sent already: the dry run of four shows two to send and the stop
    at the third (seat-cap-reached, the words a single send gets); the real run, even
    confirmed for four credits, sends those two and stops there: the pool pays exactly
    three credits in all."""
    made, admin, seat = team
    path = f"/v1/teams/{made['id']}/seats/{seat.id}/cap"
    assert api.client.put(path, json={"monthly_cap": 3}, headers=admin.auth).status_code == 200
    assert send(api, seat).status_code == 201
    body = {"name": "Hello", "subject": "Hi {first_name}", "body": "Hello {first_name}"}
    template = api.client.post("/v1/me/templates", json=body, headers=seat.auth)
    to = [api.member("basic").id for _ in range(4)]
    asked = {"template_id": template.json()["id"], "recipients": to, "dry_run": True}
    dry = api.client.post("/v1/bulk-sends", json=asked, headers=seat.auth)
    assert dry.status_code == 200, dry.text
    rows = [(r["status"], r["reason"] and r["reason"]["code"]) for r in dry.json()["recipients"]]
    assert rows == [
        ("send", None),
        ("send", None),
        ("not_sent", "seat-cap-reached"),
        ("not_sent", "stopped"),
    ]
    assert dry.json()["stop"]["position"] == 3
    assert dry.json()["totals"]["credits_to_spend"] == 2
    reason = dry.json()["recipients"][2]["reason"]["detail"]
    assert reason.startswith("your seat has used 3 of its 3 credits this month")

    # Confirming more than the dry run's total: the cap, not the confirmation, stops it.
    real = asked | {"dry_run": False, "max_credits": 4}
    started = api.client.post(
        "/v1/bulk-sends", json=real, headers=seat.auth | {"Idempotency-Key": "seat-bulk"}
    )
    assert started.status_code in (200, 201, 202), started.text
    done = api.client.get(f"/v1/bulk-sends/{started.json()['id']}", headers=seat.auth).json()
    assert done["status"] == "stopped"
    assert [r["status"] for r in done["recipients"]["items"]] == ["sent", "sent"] + ["not_sent"] * 2
    assert done["stop"]["code"] == "seat-cap-reached"
    view = api.client.get(f"/v1/teams/{made['id']}", headers=admin.auth).json()
    assert view["pool"]["balance"] == 75 * SEATS - 3
    mine = api.client.get("/v1/me/seat", headers=seat.auth).json()
    assert mine["text"] == "3 of 3 this month"


def test_a_seats_send_repeated_with_its_key_is_charged_once(api: Api, team: Any) -> None:
    made, admin, seat = team
    to = api.member("basic")
    body = {"to": to.id, "subject": "Hi", "body": "Hello"}
    headers = seat.auth | {"Idempotency-Key": "seat-send-1"}
    first = api.client.post("/v1/inmails", json=body, headers=headers)
    again = api.client.post("/v1/inmails", json=body, headers=headers)
    assert first.status_code == 201
    assert again.json() == first.json()
    view = api.client.get(f"/v1/teams/{made['id']}", headers=admin.auth).json()
    assert view["pool"]["balance"] == 75 * SEATS - 1


def test_the_operator_changes_the_contracted_seats(api: Api, team: Any) -> None:
    made, _, _ = team
    path = f"/v1/admin/teams/{made['id']}"
    more = api.client.put(path, json={"seats": 5}, headers=api.admin)
    assert more.status_code == 200
    assert more.json()["seats"] == 5
    fewer = api.client.put(path, json={"seats": 1}, headers=api.admin)
    assert fewer.status_code == 409
    assert fewer.json()["code"] == "conflict"
    bad = api.client.put(path, json={"seats": 0}, headers=api.admin)
    assert bad.status_code == 422


def test_a_team_id_is_no_member_to_write_to_block_or_quote(api: Api, team: Any) -> None:
    """A pool holds an account, but its team is nobody a member can reach: each of these
    is a 404 naming no member, and nothing is written (blocking one was a 500)."""
    made, admin, seat = team
    team_id = made["id"]
    before = api.client.get(f"/v1/teams/{team_id}", headers=admin.auth).json()["pool"]
    refused = [
        api.client.put(f"/v1/members/{team_id}/block", headers=seat.auth),
        api.client.get("/v1/me/quote", params={"to": team_id}, headers=seat.auth),
        api.client.post(
            "/v1/inmails", json={"to": team_id, "subject": "Hi", "body": "Hello"}, headers=seat.auth
        ),
        api.client.post(
            "/v1/coach", json={"to": team_id, "subject": "Hi", "body": "Hello"}, headers=seat.auth
        ),
    ]
    assert [r.status_code for r in refused] == [404, 404, 404, 404], [r.text for r in refused]
    assert {r.json()["code"] for r in refused} == {"not-found"}
    after = api.client.get(f"/v1/teams/{team_id}", headers=admin.auth).json()["pool"]
    assert after["balance"] == before["balance"]
    blocked = api.client.get(f"/v1/members/{team_id}", headers=seat.auth)
    assert blocked.status_code == 404


def test_two_admins_with_the_same_key_each_buy_their_pack(api: Api, team: Any) -> None:
    """An Idempotency-Key is its sender's: another admin's identical key is another
    purchase, not a replay of the first admin's (the reviewer's case)."""
    made, admin, seat = team
    promoted = api.client.put(
        f"/v1/admin/teams/{made['id']}/seats/{seat.id}", json={"admin": True}, headers=api.admin
    )
    assert promoted.status_code == 200, promoted.text
    path = f"/v1/teams/{made['id']}/purchases"
    first = api.client.post(
        path, json={"pack": "pack_5"}, headers=admin.auth | {"Idempotency-Key": "k"}
    )
    second = api.client.post(
        path, json={"pack": "pack_5"}, headers=seat.auth | {"Idempotency-Key": "k"}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["lot_id"] != second.json()["lot_id"]
    view = api.client.get(f"/v1/teams/{made['id']}", headers=admin.auth).json()
    assert view["pool"]["balance"] == 75 * SEATS + 10
