"""GET /v1/members and GET /v1/groups: finding people and groups (issue 10 §1), on both engines."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from tests.api.conftest import Api, Member

_handles = itertools.count(1)


def person(
    api: Api,
    name: str,
    *,
    handle: str | None = None,
    plan: str = "basic",
    headline: str = "",
    company: str = "",
    school: str = "",
    interests: Sequence[str] = (),
) -> Member:
    body = {
        "handle": handle or f"p{next(_handles)}",
        "name": name,
        "plan": plan,
        "headline": headline,
        "company": company,
        "school": school,
        "interests": list(interests),
    }
    created = api.client.post("/v1/admin/members", json=body, headers=api.admin)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = api.client.post(f"/v1/admin/members/{member_id}/tokens", headers=api.admin)
    return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})


def connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.status_code == 201, made.text


def search(api: Api, who: Member, **params: Any) -> dict[str, Any]:
    found = api.client.get("/v1/members", params=params, headers=who.auth)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def ids(api: Api, who: Member, **params: Any) -> list[str]:
    return [m["id"] for m in search(api, who, **params)["items"]]


@pytest.fixture
def me(api: Api) -> Member:
    return person(api, "Me Myself", handle="me", plan="premium_business", company="Acme Corp")


# --- What is searched, and how --------------------------------------------------------------


def test_the_search_box_looks_at_name_handle_headline_company_school_and_interests(
    api: Api, me: Member
) -> None:
    ada = person(
        api,
        "Ada Lovelace",
        handle="countess",
        headline="Analyst of engines",
        company="Babbage Works",
        school="Home Schooled",
        interests=["Poetical science"],
    )
    person(api, "Grace Hopper", company="Navy")
    for q in ("ada", "countess", "analyst", "babbage", "schooled", "poetical", "ENGINES"):
        assert ids(api, me, q=q) == [ada.id], q


def test_case_and_accents_are_ignored(api: Api, me: Member) -> None:
    jose = person(api, "José García")
    mueller = person(api, "Marta Müller", company="Łódź Tech")
    assert ids(api, me, q="jose") == [jose.id]
    assert ids(api, me, q="JOSÉ GARCIA") == [jose.id]
    assert ids(api, me, q="MÜLLER") == [mueller.id]
    assert ids(api, me, q="muller") == [mueller.id]
    assert ids(api, me, company="lodz") == [mueller.id]


def test_each_word_must_start_a_word_somewhere(api: Api, me: Member) -> None:
    ada = person(api, "Ada Lovelace", company="Babbage")
    assert ids(api, me, q="lov ada") == [ada.id]
    assert ids(api, me, q="ada bab") == [ada.id]
    assert ids(api, me, q="velace") == []
    assert ids(api, me, q="ada grace") == []
    assert ids(api, me, q="!!!") == []  # no letter or digit: no one


def test_the_handle_then_name_matches_then_the_rest(api: Api, me: Member) -> None:
    elsewhere = person(api, "Zed Zulu", headline="Works with Ada")
    by_name = person(api, "Ada Byron")
    handle = person(api, "Augusta King", handle="ada")
    assert ids(api, me, q="ada") == [handle.id, by_name.id, elsewhere.id]
    assert ids(api, me, q="@ada") == [handle.id, by_name.id, elsewhere.id]


def test_filters_look_at_their_own_field_and_work_without_the_search_box(
    api: Api, me: Member
) -> None:
    ana = person(api, "Ana", company="Globex", school="MIT", interests=["Rust", "Chess"])
    bo = person(
        api, "Bo", company="Initech", school="MIT", interests=["Go"], headline="Globex alumna"
    )
    cy = person(api, "Cy", company="Globex Labs", school="ETH Zürich", interests=["rust"])
    assert ids(api, me, company="globex") == [ana.id, cy.id]  # not Bo's headline
    assert ids(api, me, school="mit") == [ana.id, bo.id]
    assert ids(api, me, school="zurich") == [cy.id]
    assert ids(api, me, interest="rust") == [ana.id, cy.id]
    assert ids(api, me, company="globex", school="mit", interest="chess") == [ana.id]
    assert ids(api, me, q="globex", school="mit") == [ana.id, bo.id]


def test_without_any_filter_everyone_but_me_is_listed_in_the_order_they_joined(
    api: Api, me: Member
) -> None:
    first, second = person(api, "First"), person(api, "Second")
    listed = ids(api, me)
    assert me.id not in listed
    assert listed.index(first.id) < listed.index(second.id)


# --- Each result: the member, their degree, and what the quote says --------------------------


def test_each_result_carries_the_degree_and_exactly_what_the_quote_answers(
    api: Api, me: Member
) -> None:
    friend = person(api, "Sam Friend", company="Acme Corp")
    near = person(api, "Sam Near", company="Acme Corp")
    far = person(api, "Sam Far", plan="premium_business", company="Acme Corp")
    closed = person(api, "Sam Closed", company="Acme Corp")
    connect(api, me, friend)
    connect(api, friend, near)
    api.client.put("/v1/me/settings", json={"open_profile": True}, headers=far.auth)
    api.client.put("/v1/me/settings", json={"inmail_open": False}, headers=closed.auth)
    found = search(api, me, q="sam")["items"]
    assert [m["id"] for m in found] == [friend.id, near.id, far.id, closed.id]
    by_id = {m["id"]: m for m in found}
    assert [by_id[x.id]["degree"] for x in (friend, near, far, closed)] == [1, 2, 3, 3]
    for member in found:
        profile = api.client.get(f"/v1/members/{member['id']}", headers=me.auth).json()
        quoted = api.client.get("/v1/me/quote", params={"to": member["id"]}, headers=me.auth)
        expected = quoted.json()
        assert {k: member[k] for k in profile} == profile  # the member as others see them
        for key in ("channel", "cost_credits", "allowed", "reason", "overage_charge"):
            assert member[key] == expected[key], key
    assert [by_id[x.id]["channel"] for x in (friend, near, far, closed)] == [
        "message",
        "inmail",
        "open_profile",
        "inmail",
    ]
    assert [by_id[x.id]["cost_credits"] for x in (friend, near, far)] == [0, 1, 0]
    assert by_id[closed.id]["allowed"] is False


def test_a_member_on_basic_sees_why_inmail_is_not_open_to_them_and_the_free_routes(
    api: Api,
) -> None:
    basic = person(api, "Basic Bea", plan="basic")
    person(api, "Target Tom", handle="tom")
    (found,) = search(api, basic, q="tom")["items"]
    assert found["allowed"] is False
    assert "does not include InMail" in found["reason"]
    assert "mention @tom in a post" in found["reason"]


# --- Degrees -----------------------------------------------------------------------------------


def test_the_degree_filter_finds_1st_2nd_and_3rd_or_further(api: Api, me: Member) -> None:
    first = person(api, "Deg One")
    second = person(api, "Deg Two")
    third = person(api, "Deg Three")
    connect(api, me, first)
    connect(api, first, second)
    connect(api, second, third)
    assert ids(api, me, q="deg", degree=1) == [first.id]
    assert ids(api, me, q="deg", degree=2) == [second.id]
    assert ids(api, me, q="deg", degree=3) == [third.id]
    assert ids(api, me, degree=1) == [first.id]  # no words: the whole degree


# --- Who is never found -----------------------------------------------------------------------


def test_the_caller_and_members_blocked_either_way_are_never_found(api: Api, me: Member) -> None:
    blocked = person(api, "Kim Blocked")
    blocker = person(api, "Kim Blocker")
    other = person(api, "Kim Other")
    assert api.client.put(f"/v1/members/{blocked.id}/block", headers=me.auth).status_code == 200
    assert api.client.put(f"/v1/members/{me.id}/block", headers=blocker.auth).status_code == 200
    assert ids(api, me, q="kim") == [other.id]
    assert ids(api, me, q="me") == []  # my own handle and name
    assert me.id not in ids(api, other, q="kim") + ids(api, me)
    assert blocked.id not in ids(api, me)
    assert blocker.id not in ids(api, me, degree=3)


# --- Paging -----------------------------------------------------------------------------------


def test_pages_have_no_repeats_or_gaps_while_members_join(api: Api, me: Member) -> None:
    early = [person(api, f"Pat Name{i}") for i in range(4)] + [
        person(api, f"Other{i}", headline="pat fan") for i in range(3)
    ]
    page = search(api, me, q="pat", limit=3)
    seen = [m["id"] for m in page["items"]]
    assert seen == [m.id for m in early[:3]]
    late_name = person(api, "Pat Newcomer")  # joins the name tier, after the cursor
    late_other = person(api, "Late", headline="pat too")
    cursor = page["next_cursor"]
    while cursor:
        page = search(api, me, q="pat", limit=3, cursor=cursor)
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
    names, others = [m.id for m in early[:4]], [m.id for m in early[4:]]
    assert seen == [*names, late_name.id, *others, late_other.id]
    assert len(seen) == len(set(seen))


def test_the_last_page_has_no_cursor(api: Api, me: Member) -> None:
    person(api, "Quinn One")
    person(api, "Quinn Two")
    assert search(api, me, q="quinn", limit=2)["next_cursor"] is not None  # a full page
    assert search(api, me, q="quinn", limit=3)["next_cursor"] is None


# --- Bad input: 422 naming the parameter -----------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"degree": 7}, "degree"),
        ({"degree": 0}, "degree"),
        ({"degree": "2nd"}, "degree"),
        ({"q": "x" * 10_000}, "q"),
        ({"q": "ada\x01"}, "q"),
        ({"q": "ada\nlovelace"}, "q"),
        ({"q": "   "}, "q"),
        ({"company": "x" * 201}, "company"),
        ({"school": "a\x00"}, "school"),
        ({"interest": "\x7f"}, "interest"),
        ({"cursor": "bm90LW91cnM"}, "cursor"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
def test_bad_input_is_422_naming_the_parameter(
    api: Api, me: Member, params: dict[str, Any], field: str
) -> None:
    refused = api.client.get("/v1/members", params=params, headers=me.auth)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "validation-error"
    assert refused.json()["field"] == field


def test_searching_needs_a_member_token(api: Api) -> None:
    assert api.client.get("/v1/members").status_code == 401
    assert api.client.get("/v1/members", headers=api.admin).status_code == 403
    assert api.client.get("/v1/groups").status_code == 401


# --- Groups -----------------------------------------------------------------------------------


def group(api: Api, owner: Member, name: str, description: str = "", closed: bool = False) -> str:
    body = {"name": name, "description": description, "closed": closed}
    made = api.client.post("/v1/groups", json=body, headers=owner.auth)
    assert made.status_code == 201, made.text
    group_id: str = made.json()["id"]
    return group_id


def test_groups_are_found_by_name_then_description_with_size_and_my_membership(
    api: Api, me: Member
) -> None:
    owner = person(api, "Owner")
    other = person(api, "Other")
    in_description = group(api, owner, "Systems Guild", "Talks about Rust and Zig")
    by_name = group(api, owner, "Rust Zürich", closed=True)
    unrelated = group(api, owner, "Knitting")
    api.client.post(f"/v1/groups/{in_description}/join", headers=me.auth)
    api.client.post(f"/v1/groups/{in_description}/join", headers=other.auth)
    api.client.post(f"/v1/groups/{by_name}/join", headers=me.auth)  # closed: a request
    found = api.client.get("/v1/groups", params={"q": "RUST"}, headers=me.auth).json()
    assert [g["id"] for g in found["items"]] == [by_name, in_description]
    first, second = found["items"]
    assert (first["member_count"], first["membership"], first["closed"]) == (1, "pending", True)
    assert (second["member_count"], second["membership"], second["closed"]) == (3, "member", False)
    assert (first["name"], first["owner"]) == ("Rust Zürich", owner.id)
    everything = api.client.get("/v1/groups", headers=me.auth).json()["items"]
    assert [g["id"] for g in everything] == [in_description, by_name, unrelated]
    assert everything[2]["membership"] is None
    zurich = api.client.get("/v1/groups", params={"q": "zurich"}, headers=me.auth).json()
    assert [g["id"] for g in zurich["items"]] == [by_name]


def test_groups_page_without_repeats(api: Api, me: Member) -> None:
    made = [group(api, me, f"Club {i}") for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "club", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.client.get("/v1/groups", params=params, headers=me.auth).json()
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 10_000}, "q"),
        ({"q": "a\x02"}, "q"),
        ({"limit": 0}, "limit"),
        ({"cursor": "zz"}, "cursor"),
    ],
)
def test_group_search_bad_input_is_422_naming_the_parameter(
    api: Api, me: Member, params: dict[str, Any], field: str
) -> None:
    refused = api.client.get("/v1/groups", params=params, headers=me.auth)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
