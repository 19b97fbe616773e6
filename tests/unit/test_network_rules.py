import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.domain.network import Visibility, mentioned_handles, visible_to

HANDLE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,29}$")


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("hi @ada", ["ada"]),
        ("@ada, @Bob and @ada again", ["ada", "bob"]),
        ("mail ada@example.com", []),
        ("x.y@ada", []),
        ("see https://example.com/@ada and www.site.org/@bob", []),
        ("(@grace)", ["grace"]),
        ("@a is too short, @" + "x" * 31 + " too long", []),
        ("@ada_l-2!", ["ada_l-2"]),
    ],
)
def test_mentions_are_handles_after_an_at_sign_outside_addresses(
    text: str, handles: list[str]
) -> None:
    assert mentioned_handles(text) == handles


alphabet = string.ascii_letters + string.digits + "@._-/:% \n"


@given(st.text(alphabet=alphabet, max_size=200) | st.text(max_size=200))
def test_the_mention_parser_never_crashes_and_only_returns_valid_distinct_handles(
    text: str,
) -> None:
    found = mentioned_handles(text)
    assert len(found) == len(set(found))
    assert all(HANDLE.match(h) for h in found)
    assert all(f"@{h}" in text.lower() for h in found)


@given(st.from_regex(HANDLE, fullmatch=True), st.sampled_from(["user", "x.y", "a_b"]))
def test_a_handle_inside_an_email_address_is_never_a_mention(handle: str, local: str) -> None:
    assert mentioned_handles(f"write to {local}@{handle}.com") == []


@pytest.mark.parametrize(
    ("visibility", "visible_at"),
    [
        (Visibility.ONLY_ME, set()),
        (Visibility.CONNECTIONS, {1}),
        (Visibility.NETWORK, {1, 2}),
        (Visibility.EVERYONE, {1, 2, 3}),
    ],
)
def test_visibility_by_degree(visibility: Visibility, visible_at: set[int]) -> None:
    assert {d for d in (1, 2, 3) if visible_to(visibility, is_self=False, degree=d)} == visible_at
    assert visible_to(visibility, is_self=True, degree=3)
