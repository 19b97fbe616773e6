"""Network pages: profiles, contact info, invitations, groups, posts, notifications (to come)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
