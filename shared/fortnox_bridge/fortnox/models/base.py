"""Lenient reading, strict writing.

Real Fortnox sends ``null`` in fields its spec calls non-nullable, and numbers and booleans as strings
(``"CurrencyRate": "1"``, ``"Credit": "false"``). Read models accept all of that; write models accept only what
the spec asks and serialize nothing that was not set.
"""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


def _to_decimal(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        # Only reachable when a caller parsed JSON without Decimal; repr keeps the shortest exact form.
        return Decimal(repr(value))
    try:
        return Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def _to_int(value: Any) -> Any:
    number = _to_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _to_str(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


LenientDecimal = Annotated[Decimal | None, BeforeValidator(_to_decimal)]
LenientInt = Annotated[int | None, BeforeValidator(_to_int)]
LenientBool = Annotated[bool | None, BeforeValidator(_blank_to_none)]
LenientDate = Annotated[date | None, BeforeValidator(_blank_to_none)]
LenientStr = Annotated[str | None, BeforeValidator(_to_str)]

Quantity = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str)]
"""Fortnox declares row quantities as strings ("1.00") and expects them written so."""


class FortnoxRead(BaseModel):
    """A resource as Fortnox returns it. Unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class FortnoxWrite(BaseModel):
    """A body we send: only spec fields, validated before they leave."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_fortnox(self) -> dict[str, Any]:
        return self.model_dump(mode="python", by_alias=True, exclude_none=True)


class MetaInformation(FortnoxRead):
    total_resources: LenientInt = None
    total_pages: LenientInt = None
    current_page: LenientInt = None

    model_config = ConfigDict(extra="allow", frozen=True)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "MetaInformation | None":
        raw = body.get("MetaInformation")
        if not isinstance(raw, dict):
            return None
        return cls(
            total_resources=raw.get("@TotalResources"),
            total_pages=raw.get("@TotalPages"),
            current_page=raw.get("@CurrentPage"),
        )
