"""The operator's credit corrections on the member's page: grant, debit, and refund a pack or
overage charge after a confirm page that shows what it takes back (docs/rules.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import DomainError, ValidationError
from inmail.services import adjustments
from inmail.web.admin_forms import Number, minor_units, whole_number
from inmail.web.admin_pages import member_page_again
from inmail.web.common import Short, back, not_found, page, runtime_of
from inmail.web.forms import FailedForm, OnceKey, PageKey, keyed_page, on_failure
from inmail.web.session import CsrfChecked, WebOperator

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])

DateText = Annotated[str, Form(max_length=30)]


@router.post("/members/{member_id}/grants", dependencies=[CsrfChecked])
@on_failure(member_page_again)
def grant(
    request: Request,
    member_id: str,
    credits: Number = "",
    reason: Short = "",
    expires_on: DateText = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    done = adjustments.grant_credits(
        rt.deps,
        member_id=member_id,
        credits=whole_number(credits, "Credits"),
        reason=reason,
        expires_at=_expiry(expires_on),
        now=rt.clock.now(),
        idempotency_key=once,
    )
    said = f"Granted {_credits(done.credits)} ({done.reason}). Balance: {done.balance_after}."
    return back(request, f"/admin/members/{member_id}", said)


@router.post("/members/{member_id}/debits", dependencies=[CsrfChecked])
@on_failure(member_page_again)
def debit(
    request: Request,
    member_id: str,
    credits: Number = "",
    reason: Short = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    done = adjustments.debit_credits(
        rt.deps,
        member_id=member_id,
        credits=whole_number(credits, "Credits"),
        reason=reason,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    said = f"Debited {_credits(done.credits)} ({done.reason}). Balance: {done.balance_after}."
    return back(request, f"/admin/members/{member_id}", said)


def _expiry(text: str) -> datetime | None:
    """The form's optional date: the credits expire at 00:00 UTC that day."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            "Expires on must be a date like 2026-12-31 (or empty: never).", field="expires_on"
        ) from None
    return datetime.combine(day, time(), UTC)


def _credits(n: int) -> str:
    return f"{n} credit{'' if n == 1 else 's'}"


@router.get("/charges/{charge_id}/refund", response_class=HTMLResponse)
def confirm_refund(
    request: Request,
    charge_id: str,
    amount: Annotated[str, Query(max_length=30)] = "",
    once: PageKey = "",
) -> Response:
    """What refunding ``amount`` (empty: all that is left) of the charge does, to confirm."""
    return keyed_page(request, once) or _confirm(request, charge_id, amount, page_key=once)


def _confirm(
    request: Request,
    charge_id: str,
    amount: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    try:
        asked = minor_units(amount, "The amount") if amount.strip() else None
        shown = adjustments.preview_refund(
            rt.deps, charge_id=charge_id, amount_minor=asked, now=rt.clock.now()
        )
    except ValidationError as refused:  # an amount out of range: the whole charge's preview
        again = FailedForm(request.url.path, refused.message, values={"amount": amount})
        return _confirm(request, charge_id, "", failed=failed or again, page_key=page_key)
    except DomainError as error:
        return not_found(request, error) if error.code == "not-found" else _refused(request, error)
    return page(
        request,
        "admin_refund_confirm.html",
        shown=shown,
        amount_text=f"{shown.amount.amount_minor / 100:.2f}",
        failed=failed,
        page_key=page_key,
    )


def _refused(request: Request, error: DomainError) -> HTMLResponse:
    """A charge that cannot be refunded (a fee; refunded in full already): say so, 409."""
    return page(request, "error.html", status_code=409, message=error.message)


def _confirm_again(request: Request, failed: FailedForm) -> HTMLResponse:
    charge_id = request.path_params["charge_id"]
    return _confirm(request, charge_id, failed.values.get("amount", ""), failed)


@router.post("/charges/{charge_id}/refund", dependencies=[CsrfChecked])
@on_failure(_confirm_again)
def refund(
    request: Request,
    charge_id: str,
    amount: Number = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    done = adjustments.refund_charge(
        rt.deps,
        charge_id=charge_id,
        amount_minor=minor_units(amount, "The amount") if amount.strip() else None,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    refunded = f"{-done.amount.amount_minor / 100:.2f} {done.amount.currency}"
    said = (
        f"Refunded {refunded}; {_credits(done.clawed_back)} taken back. "
        f"Balance: {done.balance_after}."
    )
    return back(request, f"/admin/members/{done.member_id}", said)
