"""Money as integer minor units with an ISO 4217 currency: never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inmail.domain.errors import ValidationError

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise ValidationError(
                f"currency must be three capital letters (ISO 4217), not {self.currency!r}",
                field="currency",
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def times(self, factor: int) -> Money:
        return Money(self.amount_minor * factor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationError(f"cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        whole, cents = divmod(abs(self.amount_minor), 100)
        sign = "-" if self.amount_minor < 0 else ""
        return f"{sign}{whole}.{cents:02d} {self.currency}"
