"""Request and answer bodies of the team endpoints (docs/api.md "Teams")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from inmail.api.fields import INTEGRAL, TextField
from inmail.api.schemas import Code, CreditsOut, In, MemberId
from inmail.domain.teams import MAX_SEAT_CAP, MAX_SEATS, TEAM_NAME

Seats = Annotated[int, Field(ge=1, le=MAX_SEATS), INTEGRAL]
Credits = Annotated[int, Field(ge=0, le=MAX_SEAT_CAP), INTEGRAL]


class TeamIn(In):
    name: Annotated[str, TextField(TEAM_NAME)]
    plan: Code
    seats: Seats
    pool_cap: Credits | None = None


class TeamTermsIn(In):
    seats: Seats
    pool_cap: Credits | None = None


class SeatIn(In):
    member: MemberId
    admin: bool = False


class SeatAdminIn(In):
    admin: bool


class SeatCapIn(In):
    monthly_cap: Credits | None


class SeatOverageIn(In):
    seat_overage: bool


class TeamOut(BaseModel):
    id: str
    name: str
    plan: str
    seats: int
    pool_cap: int | None
    seat_overage: bool
    created_at: datetime
    members: list[str]
    admins: list[str]


class SeatUsageOut(BaseModel):
    member_id: str
    handle: str
    name: str
    admin: bool
    monthly_cap: int | None
    sends: int
    used: int
    text: str


class TeamViewOut(TeamOut):
    pool: CreditsOut
    period_start: datetime
    period_end: datetime
    seat_usage: list[SeatUsageOut]


class MySeatOut(BaseModel):
    team_id: str
    team_name: str
    admin: bool
    monthly_cap: int | None
    used: int
    period_start: datetime
    period_end: datetime
    text: str
    admins: list[str]
