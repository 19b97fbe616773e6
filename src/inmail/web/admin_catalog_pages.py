"""Operator pages for catalog edits: a plan edit's review (a diff) and packs edited as versions.

Every edit goes through a review page that shows the new version beside the one in force
and says what a rollover cap below the allotment means; saving it posts the version that
was reviewed, so an edit saved by someone else in between is refused, not overwritten.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import NotFound, ValidationError
from inmail.domain.money import Money
from inmail.domain.plans import CODE_MAX
from inmail.services import catalog
from inmail.services.context import Deps
from inmail.web.admin_forms import Checkbox, Number, PlanForm, minor_units, whole_number
from inmail.web.admin_pages import plans_again
from inmail.web.common import back, page, runtime_of
from inmail.web.forms import FailedForm, on_failure
from inmail.web.session import CsrfChecked, WebOperator

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])
PackCode = Annotated[str, Form(max_length=CODE_MAX)]
DEFAULT_CURRENCY = "USD"


@router.post("/plans/{code}/review", dependencies=[CsrfChecked], response_class=HTMLResponse)
@on_failure(plans_again)
def review_plan(
    request: Request,
    code: str,
    monthly_allotment: Number = "",
    rollover_cap: Number = "",
    price: Number = "",
    inmail_cost: Number = "",
    credit_back_days: Number = "",
    inmail: Checkbox = "",
    packs: Checkbox = "",
    overage: Checkbox = "",
) -> Response:
    """The plan's next version beside the current one, to confirm before it is saved."""
    submitted = PlanForm(
        monthly_allotment=monthly_allotment,
        rollover_cap=rollover_cap,
        price=price,
        inmail_cost=inmail_cost,
        credit_back_days=credit_back_days,
        inmail=inmail == "on",
        packs=packs == "on",
        overage=overage == "on",
    )
    deps = runtime_of(request).deps
    current = next((p for p in catalog.list_plans(deps) if p.code == code), None)
    if current is None:
        raise NotFound(f"There is no plan {code!r}.")
    changes = submitted.changes_to(current)
    if not changes:
        return back(request, "/admin/plans", f"Nothing changed: {current.name} stays as it is.")
    edit = catalog.preview_plan_edit(deps, code=code, changes=changes)
    return page(request, "admin_plan_review.html", edit=edit, form=submitted)


# --- packs ------------------------------------------------------------------------------


@router.get("/packs", response_class=HTMLResponse)
def packs_page(request: Request) -> HTMLResponse:
    return _packs(request)


def _packs(request: Request, failed: FailedForm | None = None) -> HTMLResponse:
    """Every pack on sale with its version and an edit form; a new pack's form below."""
    packs = catalog.list_pack_versions(runtime_of(request).deps)
    failed_code = None if failed is None else failed.values.get("code")
    return page(
        request,
        "admin_packs.html",
        status_code=200 if failed is None else 422,
        packs=packs,
        failed=failed,
        failed_code=failed_code,
        currency=packs[0][0].price.currency if packs else DEFAULT_CURRENCY,
    )


def _packs_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _packs(request, failed)


@router.post("/packs/review", dependencies=[CsrfChecked], response_class=HTMLResponse)
@on_failure(_packs_again)
def review_pack(
    request: Request, code: PackCode = "", credits: Number = "", price: Number = ""
) -> Response:
    """A pack's next version (or a new pack) beside the terms on sale, to confirm."""
    deps = runtime_of(request).deps
    terms = _pack_terms(deps, code, credits, price)
    edit = catalog.preview_pack_edit(deps, code=code.strip(), credits=terms[0], price=terms[1])
    if not edit.changes:
        return back(request, "/admin/packs", f"Nothing changed: {code} stays as it is.")
    return page(request, "admin_pack_review.html", edit=edit, credits=credits, price=price)


@router.post("/packs/save", dependencies=[CsrfChecked])
@on_failure(_packs_again)
def save_pack(
    request: Request,
    code: PackCode = "",
    credits: Number = "",
    price: Number = "",
    expected_version: Annotated[int, Form(ge=0)] = 0,
) -> Response:
    """Save the reviewed terms as the pack's next version: on sale from now on."""
    rt = runtime_of(request)
    terms = _pack_terms(rt.deps, code, credits, price)
    edit = catalog.update_pack(
        rt.deps,
        code=code.strip(),
        credits=terms[0],
        price=terms[1],
        now=rt.clock.now(),
        expected_version=expected_version,
    )
    return back(request, "/admin/packs", f"Saved {edit.proposed.code} as version {edit.version}.")


def _pack_terms(deps: Deps, code: str, credits: str, price: str) -> tuple[int, Money]:
    """The typed credits and price (in the pack's currency), refused in words unless numbers."""
    if not code.strip():
        raise ValidationError("A pack needs a code, like pack_50.", field="code")
    count = whole_number(credits, "Credits")
    if count < 1:
        raise ValidationError("A pack holds at least 1 credit.", field="credits")
    return count, Money(minor_units(price, "The price"), _currency(deps, code.strip()))


def _currency(deps: Deps, code: str) -> str:
    """The pack's own currency; a new pack takes the catalog's (USD in an empty one)."""
    packs = [pack for pack, _ in catalog.list_pack_versions(deps)]
    same = [p for p in packs if p.code == code] or packs
    return same[0].price.currency if same else DEFAULT_CURRENCY
