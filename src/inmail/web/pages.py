"""The pages served until the full web app lands: the members and their balances."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from inmail.bootstrap import Runtime
from inmail.services.members import list_members
from inmail.services.statements import get_credits

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    rt: Runtime = request.app.state.runtime
    now = rt.clock.now()
    rows = [
        (member, get_credits(rt.deps, member_id=member.id, now=now))
        for member in list_members(rt.deps, limit=200)
    ]
    return templates.TemplateResponse(request, "home.html", {"rows": rows, "now": now})
