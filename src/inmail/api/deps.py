"""Request dependencies as ``Annotated`` aliases: who is calling, what time it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from inmail.api.schemas import ID_MAX, ID_PATTERN
from inmail.bootstrap import Runtime
from inmail.domain.plans import CODE_MAX, CODE_PATTERN
from inmail.services.auth import is_operator_token, known_member, member_for_token
from inmail.services.context import Deps
from inmail.services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from inmail.services.sequences import run_due_on_request

_P = ParamSpec("_P")
_T = TypeVar("_T")

bearer = HTTPBearer(auto_error=False, description="A member token, or the operator token")


async def on_database(
    rt: Runtime, work: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """``work(*args, **kwargs)``, blocking database work, where it costs least: on the event
    loop's thread when the process gives requests one thread (``Runtime.database_on_loop``),
    else on the thread pool. One thread means one request's database work at a time either
    way; the hop to it and back (a queue, two thread wake-ups, the GIL changing hands twice)
    took more of the server's time than a credits read's own work (docs/deploy.md,
    "Threads"). The price: while it runs, the loop reads no other request."""
    if rt.database_on_loop:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


# Dependencies that do no I/O are ``async def`` so FastAPI runs them on the event loop
# instead of a thread-pool hop each.
async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def services(rt: RuntimeDep) -> Deps:
    return rt.deps


async def now(rt: RuntimeDep) -> datetime:
    # The system clock is free to read; the test clock is a database row, read off the loop.
    if rt.test_clock is None:
        return rt.clock.now()
    return await on_database(rt, rt.clock.now)


ServicesDep = Annotated[Deps, Depends(services)]
Now = Annotated[datetime, Depends(now)]


@dataclass(frozen=True, slots=True)
class Caller:
    member_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.member_id is None


async def caller(
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Anyone with a valid token: 401 without one, or with a wrong one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "send Authorization: Bearer <token>")
    token = credentials.credentials
    if is_operator_token(token, rt.settings.admin_token):
        return Caller(None)
    member_id = known_member(token)
    if member_id is None:  # not seen by this process yet: ask the database, off the loop
        member_id = await on_database(rt, member_for_token, rt.deps, token)
    if member_id is None:
        raise HTTPException(401, "that token is not valid")
    return Caller(member_id)


AnyCaller = Annotated[Caller, Depends(caller)]


async def current_member(who: AnyCaller, rt: RuntimeDep, at: Now) -> str:
    """The calling member's id; the operator token is not a member (403).

    Their scheduled follow-ups due by now are run first, so they go out without a
    worker (services.sequences.run_due_for); the process usually knows without
    asking the database that none is due, and then this costs no I/O at all.
    """
    if who.member_id is None:
        raise HTTPException(403, "this endpoint acts as a member: use a member token")
    if not rt.deps.due_check.nothing_due(who.member_id, at):
        await on_database(rt, run_due_on_request, rt.deps, who.member_id, at)
    return who.member_id


async def operator(who: AnyCaller) -> None:
    if not who.is_operator:
        raise HTTPException(403, "this endpoint needs the operator token")


CurrentMember = Annotated[str, Depends(current_member)]
Operator = Depends(operator)


@dataclass(frozen=True, slots=True)
class MemberCall:
    """A member's request, resolved in one step: who (``member_id``), the services
    (``deps``), the request's moment (``now``, UTC) and the app's ``runtime``."""

    member_id: str
    deps: Deps
    now: datetime
    runtime: Runtime


async def member_call(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> MemberCall:
    """What CurrentMember, ServicesDep and Now give, as one dependency: FastAPI resolves each
    dependency of a request in turn (some 50 µs apiece), which the busiest endpoints (the
    credits read, a send) need not pay six times. Raises as :func:`current_member` does."""
    rt: Runtime = request.app.state.runtime
    who = await caller(rt, credentials)
    at = await now(rt)
    return MemberCall(await current_member(who, rt, at), rt.deps, at, rt)


Member = Annotated[MemberCall, Depends(member_call)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
        description="Repeat a write safely: the same key and body return the first answer.",
    ),
]

# Path and query parameters that name something: the shapes the API hands out, so a value
# that cannot name anything (a NUL, a slash-free 10 kB string) is a 422 on every engine.
IdPath = Annotated[
    str,
    Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN, description="An id from this API"),
]
CodePath = Annotated[
    str,
    Path(min_length=1, max_length=CODE_MAX, pattern=CODE_PATTERN, description="A plan code"),
]
CodeQuery = Annotated[
    str,
    Query(min_length=1, max_length=CODE_MAX, pattern=CODE_PATTERN, description="A plan code"),
]
MemberQuery = Annotated[
    str,
    Query(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN, description="The member to reach"),
]
