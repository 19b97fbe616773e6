"""Operator pages: plans, members, charges, audit (to come)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
