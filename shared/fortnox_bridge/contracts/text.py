"""Text that reaches a Fortnox document or a bookkeeper's screen: printable, no markup, trimmed, within Fortnox's
field lengths."""

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"[<>]")


def _clean(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed in text fields")
    if _MARKUP.search(value):
        raise ValueError("markup (< or >) is not allowed in text fields")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024), AfterValidator(_clean)]
Text1024 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024), AfterValidator(_clean)]
Text255 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(_clean)]
Text75 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=75), AfterValidator(_clean)]
Text50 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), AfterValidator(_clean)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-/]+$")
]
"""Identifiers: article numbers, service types, product groups, cost centres, projects."""
DocumentNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-/]+$")
]
