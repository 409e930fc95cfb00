"""JSON that keeps money exact in both directions.

Fortnox sends and expects JSON numbers for amounts. Parsing them as float and writing floats back would let
binary rounding reach a bookkeeper's ledger, so numbers are read as ``Decimal`` and ``Decimal`` is written as a
plain JSON number.
"""

import json
from datetime import date
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    return "".join(_encode(value))


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if index:
                yield ","
            yield json.dumps(str(key), ensure_ascii=False)
            yield ":"
            yield from _encode(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _encode(item)
        yield "]"
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode non-finite amount {value}")
        yield format(value, "f")
    elif isinstance(value, date):
        yield json.dumps(value.isoformat())
    elif isinstance(value, float):
        raise TypeError("floats are not written: use Decimal for amounts")
    else:
        yield json.dumps(value, ensure_ascii=False)
