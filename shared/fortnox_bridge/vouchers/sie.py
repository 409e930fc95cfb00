"""A journal as an SIE 4 file (https://sie.se, format 4) that Fortnox imports, for a voucher the bookkeeper books
by hand after a failure instead of retyping it from a PDF (seed 004, BRP).

The file declares its character set (``#FORMAT PC8``: IBM code page 437, which holds å ä ö Å Ä Ö) and is encoded in
it, with CRLF line ends as the format's DOS origins expect. Debit is positive and credit negative, two decimals.
Cost centres are dimension 1 and projects dimension 6, the numbers SIE reserves for them.
"""

import re
from datetime import date
from decimal import Decimal

from fortnox_bridge.vouchers.journal import Journal

ENCODING = "cp437"
PROGRAM = "Fortnox Bridge"
PROGRAM_VERSION = "1.0"
COST_CENTER_DIMENSION = 1
PROJECT_DIMENSION = 6
DIMENSION_NAMES = {COST_CENTER_DIMENSION: "Kostnadsställe", PROJECT_DIMENSION: "Projekt"}
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
"""Line breaks end a record, and a DOS end-of-file (0x1A) would end the file for the readers SIE was made for."""


def sie4(
    journal: Journal,
    *,
    company_name: str,
    organisation_number: str | None,
    voucher_number: int | None = None,
    generated: date,
) -> bytes:
    """The journal as one ``#VER`` of an SIE 4 file; ``voucher_number`` empty lets the importing program number it."""
    lines = [
        "#FLAGGA 0",
        f"#PROGRAM {quoted(PROGRAM)} {PROGRAM_VERSION}",
        "#FORMAT PC8",
        f"#GEN {_day(generated)}",
        "#SIETYP 4",
        f"#FNAMN {quoted(company_name)}",
    ]
    if organisation_number:
        lines.append(f"#ORGNR {quoted(organisation_number)}")
    objects = _objects(journal)
    for dimension in sorted({dimension for dimension, _ in objects}):
        lines.append(f"#DIM {dimension} {quoted(DIMENSION_NAMES[dimension])}")
    for dimension, code in sorted(objects):
        lines.append(f"#OBJEKT {dimension} {quoted(code)} {quoted(code)}")
    number = "" if voucher_number is None else str(voucher_number)
    lines.append(
        f"#VER {quoted(journal.series)} {quoted(number)} {_day(journal.transaction_date)} {quoted(journal.description)}"
    )
    lines.append("{")
    for row in journal.rows:
        amount = row.debit - row.credit
        lines.append(
            f"   #TRANS {row.account} {{{_object_list(row.cost_center, row.project)}}} {_amount(amount)} "
            f"{_day(journal.transaction_date)} {quoted(row.description or '')}"
        )
    lines.append("}")
    text = "\r\n".join(lines) + "\r\n"
    # A character code page 437 lacks (a euro sign, a dash) becomes '?', as SIE readers show it; Swedish letters keep.
    return text.encode(ENCODING, errors="replace")


def quoted(text: str) -> str:
    """A field in quotes, as SIE writes any text: a quote or backslash inside is escaped with a backslash, and line
    breaks and other control characters (the company name is Fortnox's, never checked by the bridge) become spaces."""
    flat = _BREAKS.sub(" ", text)
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _objects(journal: Journal) -> set[tuple[int, str]]:
    objects: set[tuple[int, str]] = set()
    for row in journal.rows:
        if row.cost_center:
            objects.add((COST_CENTER_DIMENSION, row.cost_center))
        if row.project:
            objects.add((PROJECT_DIMENSION, row.project))
    return objects


def _object_list(cost_center: str | None, project: str | None) -> str:
    pairs = []
    if cost_center:
        pairs.append(f"{COST_CENTER_DIMENSION} {quoted(cost_center)}")
    if project:
        pairs.append(f"{PROJECT_DIMENSION} {quoted(project)}")
    return " ".join(pairs)


def _amount(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _day(day: date) -> str:
    return day.strftime("%Y%m%d")
