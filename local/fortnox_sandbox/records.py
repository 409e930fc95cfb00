"""Helpers every resource uses on its stored records: touching, date parsing, lookup by key."""

from datetime import date
from typing import Any

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.state import Record, SandboxState


def touch(state: SandboxState, record: Record) -> Record:
    record["_modified"] = state.timestamp()
    return record


def parse_date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(codes.INVALID_VALUE, field=field) from None


def lookup(records: dict[str, Record], key: str, missing: codes.Code) -> Record:
    found = records.get(key)
    if found is None:
        raise ApiError(missing)
    return found
