"""Every response, page or API, success or error, forbids framing and sniffing (clickjacking)."""

from __future__ import annotations

import httpx2
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from tests.api.conftest import Api
from tests.conftest import T0

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _assert_secure(response: httpx2.Response, csp: str = PAGE_CSP) -> None:
    assert response.headers["content-security-policy"] == csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_pages_api_answers_and_errors_all_carry_the_security_headers(api: Api) -> None:
    member = api.member()
    login = api.client.get("/login")
    assert (login.status_code, login.headers["content-type"]) == (200, "text/html; charset=utf-8")
    _assert_secure(login)
    redirect = api.client.get("/inbox", follow_redirects=False)
    assert redirect.status_code == 303
    _assert_secure(redirect)
    credits = api.client.get("/v1/me/credits", headers=member.auth)
    assert credits.status_code == 200
    _assert_secure(credits)
    _assert_secure(api.client.get("/static/app.css"))
    for error, status in (
        (api.client.get("/v1/me/credits"), 401),
        (api.client.get("/v1/nothing-here", headers=member.auth), 404),
        (api.client.post("/v1/me/purchases", json={"pack": 5}, headers=member.auth), 422),
        (api.client.get("/no-such-page", headers={"Accept": "text/html"}), 404),
    ):
        assert error.status_code == status, error.text
        _assert_secure(error)


def test_pages_are_never_stored_by_a_cache_but_assets_and_api_answers_may_be(api: Api) -> None:
    """A page holds a member's messages and one-time form keys: no cache, and no Back button,
    shows an old copy of it (the browser asks again)."""
    member = api.member()
    assert api.client.get("/login").headers["cache-control"] == "no-store"
    missing = api.client.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing.headers["cache-control"] == "no-store"
    assert "cache-control" not in api.client.get("/v1/me/credits", headers=member.auth).headers
    assert api.client.get("/static/app.css").headers.get("cache-control") != "no-store"


def test_an_unexpected_error_still_carries_the_security_headers(db_url: str) -> None:
    app = create_app(runtime=build(Settings(database_url=db_url, test_clock=T0)))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        crashed = client.get("/boom")
    assert crashed.status_code == 500
    assert crashed.json()["code"] == "internal-error"
    _assert_secure(crashed)


def test_redoc_which_would_load_from_a_cdn_is_not_served(api: Api) -> None:
    assert api.client.get("/redoc").status_code == 404


def test_the_api_docs_are_served_from_the_installed_package(api: Api) -> None:
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    _assert_secure(docs, PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))
    assert "//" not in docs.text  # nothing from another site
    assert "<script>" not in docs.text  # no inline script: the CSP allows none
    for asset, kind in (
        ("/docs/assets/swagger-ui-bundle.js", "javascript"),
        ("/docs/assets/swagger-ui.css", "text/css"),
        ("/docs/init.js", "javascript"),
    ):
        served = api.client.get(asset)
        assert served.status_code == 200, asset
        assert kind in served.headers["content-type"]
        _assert_secure(served)
    assert api.client.get("/openapi.json").status_code == 200
