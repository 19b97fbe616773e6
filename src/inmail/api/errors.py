"""RFC 9457 problem+json: the one table from error code to HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from inmail.domain.errors import DomainError, ValidationError

STATUS_BY_CODE: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not-found": 404,
    "validation-error": 422,
    "idempotency-key-reused": 422,
    "unknown-plan": 422,
    "unknown-pack": 422,
    "insufficient-credits": 402,
    "overage-limit-reached": 402,
    "inmail-not-on-plan": 403,
    "packs-not-on-plan": 403,
    "conflict": 409,
    "handle-taken": 409,
    "already-spent": 409,
}
PROBLEM = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {
        "type": f"https://inmail.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _title(code: str) -> str:
    return code.replace("-", " ").capitalize()


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = STATUS_BY_CODE.get(exc.code, 422)
    extra = {"field": exc.field} if isinstance(exc, ValidationError) and exc.field else {}
    return problem(status, exc.code, _title(exc.code), exc.message, **extra)


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    detail = f"{first['field'] or 'request'}: {first['message']}"
    return problem(422, "validation-error", "Validation error", detail, errors=errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {401: "unauthorized", 403: "forbidden", 404: "not-found"}.get(exc.status_code, "error")
    return problem(exc.status_code, code, _title(code), str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
