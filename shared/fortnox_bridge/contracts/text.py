"""Text that reaches a Fortnox document or a bookkeeper's screen: printable, no markup, trimmed, within Fortnox's
field lengths."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_MARKUP = re.compile(r"[<>]")
_LINE_BREAKS = frozenset("\t\n\r")
"""The only control characters a comment or an address may hold."""
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode's control (C0 and C1), format (bidi overrides and isolates, LRM/RLM, zero-width characters, BOM),
surrogate and line/paragraph-separator categories. Format characters print nothing yet change what the text shows:
U+202E makes 'fdp.exe' read 'exe.pdf' and turns '00.0001' into '1000.00' on screen."""


_IDENTITY_NUMBER = re.compile(r"(?<!\d)(?<!\d[.,])(?:\d{2})?\d{6}[-+]?\d{4}(?!\d|[.,]\d)")
"""Ten or twelve digits, with or without the dash: a personal identity number (or an organisation number, which for
a sole trader is one). Not an amount: digits with decimals are money (Fortnox's limit 9999999999.99 is no person)."""


def without_identity_numbers(text: str) -> str:
    """``text`` with every number shaped like a personal identity number masked, for text that quotes what someone
    else wrote (a Fortnox message, a key upstream sent) and goes into a log line, an event or an e-mail."""
    return _IDENTITY_NUMBER.sub("[…]", text)


def _unprintable(value: str) -> str | None:
    return next(
        (char for char in value if char not in _LINE_BREAKS and unicodedata.category(char) in _UNPRINTABLE), None
    )


def _clean(value: str) -> str:
    char = _unprintable(value)
    if char is not None:
        raise ValueError(
            f"control characters and invisible formatting characters (here U+{ord(char):04X}) are not allowed in "
            "text fields"
        )
    if _MARKUP.search(value):
        raise ValueError("markup (< or >) is not allowed in text fields")
    return value


def _one_line(value: str) -> str:
    if "\t" in value or "\n" in value or "\r" in value:
        raise ValueError("one line of text, without tabs or line breaks")
    return _clean(value)


Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(_one_line)
]
"""Why a person did something by hand (an export marked as exported): one line, shown as typed to the next person."""
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024), AfterValidator(_clean)]
Text1024 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024), AfterValidator(_clean)]
Text255 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(_clean)]
Text75 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=75), AfterValidator(_clean)]
Text50 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), AfterValidator(_clean)]
Text20 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20), AfterValidator(_clean)]
Text10 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10), AfterValidator(_clean)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-/]+$")
]
"""Identifiers: article numbers, service types, product groups, cost centres, projects."""
DocumentNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-/]+$")
]
