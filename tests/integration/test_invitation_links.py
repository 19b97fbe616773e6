"""Invitation links through the services on each engine: one use, expiry, replacement, and
the password they set is the one sign-in checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from inmail.domain.errors import (
    InvitationLinkExpired,
    InvitationLinkUsed,
    NotFound,
    UnknownMember,
    ValidationError,
)
from inmail.services import invitation_links, passwords
from inmail.services.context import Deps
from inmail.services.passwords import LoginFailed, check_login
from tests.conftest import T0
from tests.helpers import new_member


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def test_a_link_sets_the_password_sign_in_checks_and_works_once(deps: Deps) -> None:
    member = new_member(deps, "basic", T0, handle="linda")
    with pytest.raises(LoginFailed):
        check_login(deps, handle="linda", password="her new password")
    link = invitation_links.issue_link(deps, member_id=member, now=T0, days=7)
    holder = invitation_links.open_link(deps, token=link.token, now=T0)
    assert (holder.member_id, holder.handle) == (member, "linda")
    with pytest.raises(ValidationError, match="at least 8 characters"):
        invitation_links.set_password_with_link(deps, token=link.token, password="short", now=T0)
    used = invitation_links.set_password_with_link(
        deps, token=link.token, password="her new password", now=T0
    )
    assert used == member
    assert check_login(deps, handle="linda", password="her new password") == member
    with pytest.raises(InvitationLinkUsed):
        invitation_links.set_password_with_link(
            deps, token=link.token, password="another password", now=T0
        )
    assert check_login(deps, handle="linda", password="her new password") == member


def test_a_link_expires_and_a_newer_one_replaces_it(deps: Deps) -> None:
    member = new_member(deps, "basic", T0)
    first = invitation_links.issue_link(deps, member_id=member, now=T0, days=2)
    second = invitation_links.issue_link(deps, member_id=member, now=T0, days=2)
    with pytest.raises(NotFound, match="newer one"):
        invitation_links.open_link(deps, token=first.token, now=T0)
    later = T0 + timedelta(days=2)
    with pytest.raises(InvitationLinkExpired):
        invitation_links.set_password_with_link(
            deps, token=second.token, password="too late now", now=later
        )


def test_links_are_for_members_who_exist_and_tokens_that_look_like_links(deps: Deps) -> None:
    with pytest.raises(UnknownMember):
        invitation_links.issue_link(deps, member_id="m_nobody", now=T0, days=7)
    with pytest.raises(UnknownMember, match="handle 'nobody'"):
        invitation_links.issue_link_for_handle(deps, handle="nobody", now=T0, days=7)
    for token in ("", "imt_not a link", "inv_" + "x" * 300, "inv_unknown"):
        with pytest.raises(NotFound):
            invitation_links.open_link(deps, token=token, now=T0)
