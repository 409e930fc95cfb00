"""Event times as instants, for ordering updates by ``occurred_at``."""

from datetime import UTC, datetime


def instant(moment: datetime) -> datetime:
    """Event times compare as instants; one sent without a zone is taken as UTC rather than failing the compare."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """One fixed form in UTC, so stored times also compare as text in a condition expression."""
    return instant(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
