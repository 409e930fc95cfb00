"""An SIE 4 reader for tests, written from the format (https://sie.se), not from the writer: records are lines
starting with '#', fields are separated by spaces or tabs, a field may be quoted (with \\" and \\\\ inside), an
object list is a brace-delimited field, and a voucher's transactions sit between '{' and '}' lines."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

DECLARED_ENCODINGS = {"PC8": "cp437"}


class SieError(ValueError):
    pass


@dataclass
class Transaction:
    account: int
    objects: list[tuple[int, str]]
    amount: Decimal
    day: date | None
    text: str


@dataclass
class Verification:
    series: str
    number: str
    day: date
    text: str
    transactions: list[Transaction] = field(default_factory=list)


@dataclass
class SieFile:
    labels: list[str]
    """Every record's label in order, e.g. ["#FLAGGA", "#PROGRAM", ...]."""
    header: dict[str, list[str]]
    """The first occurrence of each record outside a voucher, by label."""
    dimensions: dict[int, str]
    objects: dict[tuple[int, str], str]
    verifications: list[Verification]
    crlf: bool


def read(data: bytes) -> SieFile:
    """Decodes by the declared ``#FORMAT`` (PC8 is code page 437) and parses every record."""
    head = data.split(b"\n", 5)
    declared = next((line.split()[1].decode("ascii") for line in head if line.startswith(b"#FORMAT")), None)
    if declared not in DECLARED_ENCODINGS:
        raise SieError(f"#FORMAT {declared} is not a character set this reader knows")
    text = data.decode(DECLARED_ENCODINGS[declared])
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    labels: list[str] = []
    header: dict[str, list[str]] = {}
    dimensions: dict[int, str] = {}
    objects: dict[tuple[int, str], str] = {}
    verifications: list[Verification] = []
    current: Verification | None = None
    in_block = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "{":
            if current is None or in_block:
                raise SieError("'{' without a #VER before it")
            in_block = True
            continue
        if line == "}":
            if not in_block or current is None:
                raise SieError("'}' without '{'")
            verifications.append(current)
            current, in_block = None, False
            continue
        fields = tokens(line)
        label = fields[0]
        labels.append(label)
        if label == "#TRANS":
            if not in_block or current is None:
                raise SieError("#TRANS outside a voucher")
            current.transactions.append(_transaction(fields))
        elif label == "#VER":
            current = Verification(fields[1], fields[2], _date(fields[3]), fields[4] if len(fields) > 4 else "")
        elif label == "#DIM":
            dimensions[int(fields[1])] = fields[2]
        elif label == "#OBJEKT":
            objects[(int(fields[1]), fields[2])] = fields[3]
        else:
            header.setdefault(label, fields[1:])
    if current is not None:
        raise SieError("a #VER without its transactions block")
    return SieFile(labels, header, dimensions, objects, verifications, crlf)


def _transaction(fields: list[str]) -> Transaction:
    object_list = fields[2]
    if not (object_list.startswith("{") and object_list.endswith("}")):
        raise SieError(f"#TRANS object list {object_list!r} is not in braces")
    inner = tokens(object_list[1:-1])
    if len(inner) % 2:
        raise SieError(f"object list {object_list!r} is not dimension/object pairs")
    pairs = [(int(inner[i]), inner[i + 1]) for i in range(0, len(inner), 2)]
    day = _date(fields[4]) if len(fields) > 4 and fields[4] else None
    return Transaction(int(fields[1]), pairs, Decimal(fields[3]), day, fields[5] if len(fields) > 5 else "")


def _date(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").date()


def tokens(line: str) -> list[str]:
    """Fields of a record: quoted strings unescaped, a brace group kept whole with its quotes."""
    out: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char in " \t":
            i += 1
            continue
        if char == '"':
            value, i = _quoted(line, i)
            out.append(value)
        elif char == "{":
            end = i + 1
            while end < len(line) and line[end] != "}":
                end = _quoted(line, end)[1] if line[end] == '"' else end + 1
            if end >= len(line):
                raise SieError(f"unclosed object list in {line!r}")
            out.append(line[i : end + 1])
            i = end + 1
        else:
            end = i
            while end < len(line) and line[end] not in " \t":
                end += 1
            out.append(line[i:end])
            i = end
    return out


def _quoted(line: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    i = start + 1
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            chars.append(line[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(chars), i + 1
        chars.append(char)
        i += 1
    raise SieError(f"unclosed quote in {line!r}")
