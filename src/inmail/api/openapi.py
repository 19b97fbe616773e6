"""The published OpenAPI document: FastAPI's, with one ``Problem`` for every error answer.

Every 4xx/5xx response of every operation refers to ``#/components/schemas/Problem``
(RFC 9457 problem details with the stable ``code``, served as
``application/problem+json``), FastAPI's own ``HTTPValidationError`` included: request
validation errors are problems too (api/errors.py). Operations that take a body also
declare 413 (api/body_limit.py), and every operation declares 503 ``busy`` (a database
too busy to answer). Links tie an answer's ids to the operations that use them, so a
client (and Schemathesis' stateful phase) can follow them: create a member, then issue
its token; send an InMail, then read its thread.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from inmail.api.errors import PROBLEM, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "put", "post", "delete", "patch")

# (path, method, status) of an answer -> {link name: (path, method of the operation it
# feeds, {parameter: runtime expression})}.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("/v1/admin/members", "post", "201"): {
        "IssueToken": ("/v1/admin/members/{member_id}/tokens", "post", {"member_id": "id"}),
        "ChangeSubscription": (
            "/v1/admin/members/{member_id}/subscription",
            "put",
            {"member_id": "id"},
        ),
        "ReadMember": ("/v1/members/{other_id}", "get", {"other_id": "id"}),
        "ReadContactInfo": ("/v1/members/{other_id}/contact-info", "get", {"other_id": "id"}),
        "ListMutualConnections": (
            "/v1/members/{other_id}/mutual-connections",
            "get",
            {"other_id": "id"},
        ),
        "Block": ("/v1/members/{other_id}/block", "put", {"other_id": "id"}),
        "Quote": ("/v1/me/quote", "get", {"to": "id"}),
    },
    ("/v1/inmails", "post", "201"): {
        "ReadThread": ("/v1/threads/{thread_id}", "get", {"thread_id": "thread_id"}),
        "PostInThread": ("/v1/threads/{thread_id}/messages", "post", {"thread_id": "thread_id"}),
        "MarkRead": ("/v1/threads/{thread_id}/read", "post", {"thread_id": "thread_id"}),
        "Decline": ("/v1/threads/{thread_id}/decline", "post", {"thread_id": "thread_id"}),
        "Cancel": ("/v1/inmails/{inmail_id}", "delete", {"inmail_id": "id"}),
    },
    ("/v1/messages", "post", "201"): {
        "ReadThread": ("/v1/threads/{thread_id}", "get", {"thread_id": "thread_id"}),
        "PostInThread": ("/v1/threads/{thread_id}/messages", "post", {"thread_id": "thread_id"}),
    },
    ("/v1/groups", "post", "201"): {
        "Join": ("/v1/groups/{group_id}/join", "post", {"group_id": "id"}),
        "ListMembers": ("/v1/groups/{group_id}/members", "get", {"group_id": "id"}),
        "SendGroupMessage": ("/v1/groups/{group_id}/messages", "post", {"group_id": "id"}),
    },
    ("/v1/posts", "post", "201"): {
        "Comment": ("/v1/posts/{post_id}/comments", "post", {"post_id": "id"}),
    },
    ("/v1/invitations", "post", "201"): {
        "Accept": ("/v1/invitations/{invitation_id}/accept", "post", {"invitation_id": "id"}),
        "Decline": ("/v1/invitations/{invitation_id}/decline", "post", {"invitation_id": "id"}),
    },
    ("/v1/bulk-sends", "post", "202"): {
        "ReadBulkSend": ("/v1/bulk-sends/{bulk_id}", "get", {"bulk_id": "id"}),
    },
    ("/v1/me/templates", "post", "201"): {
        "ReadTemplate": ("/v1/me/templates/{template_id}", "get", {"template_id": "id"}),
        "ReplaceTemplate": ("/v1/me/templates/{template_id}", "put", {"template_id": "id"}),
        "DeleteTemplate": ("/v1/me/templates/{template_id}", "delete", {"template_id": "id"}),
        "RenderTemplate": (
            "/v1/me/templates/{template_id}/render",
            "post",
            {"template_id": "id"},
        ),
    },
    ("/v1/introductions", "post", "201"): {
        "Forward": ("/v1/introductions/{intro_id}/forward", "post", {"intro_id": "id"}),
        "Decline": ("/v1/introductions/{intro_id}/decline", "post", {"intro_id": "id"}),
    },
}


def install(app: FastAPI) -> None:
    """Serve the document with problems and links (built once, on the first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, routes=app.routes, tags=app.openapi_tags
            )
            publish_problems(document)
            publish_links(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    ]


def publish_problems(document: dict[str, Any]) -> None:
    """Every error answer of every operation refers to the one ``Problem`` schema."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = Problem.model_json_schema()
    for _, _, operation in _operations(document):
        responses = operation.setdefault("responses", {})
        if "requestBody" in operation:
            responses.setdefault("413", {})
        responses.setdefault("503", {"description": "Busy: retry (with the same key)"})
        for status, response in responses.items():
            if status.isdigit() and int(status) >= 400:
                response.setdefault("description", HTTPStatus(int(status)).phrase)
                response["content"] = {PROBLEM: {"schema": PROBLEM_REF}}


def publish_links(document: dict[str, Any]) -> None:
    """The OpenAPI links of :data:`LINKS`, by the operationId FastAPI gave each operation."""
    ids = {(path, method): op["operationId"] for path, method, op in _operations(document)}
    paths = document.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        response["links"] = {
            name: {
                "operationId": ids[(target, target_method)],
                "parameters": {
                    _location(paths[target][target_method], parameter): f"$response.body#/{field}"
                    for parameter, field in parameters.items()
                },
            }
            for name, (target, target_method, parameters) in links.items()
        }


def _location(operation: dict[str, Any], name: str) -> str:
    """``path.member_id`` or ``query.to``: where the linked operation takes the parameter."""
    where = next(p["in"] for p in operation.get("parameters", []) if p["name"] == name)
    return f"{where}.{name}"
