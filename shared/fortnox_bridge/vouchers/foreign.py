"""Is the day already in Fortnox by other means? A voucher of the same date that the bridge did not make and that
names the same location.

Seed 001 warns that a till's SIE export imported beside the integration books every day twice. Fortnox's voucher
list has no rows, only the date, series, number and description, so the rule reads the description: a voucher on the
transaction date with no bridge marker whose description names the location (its name as the event gives it, or its
code) as a whole word, or equals the voucher's own text. A code of one or two characters ("1", "K2") is too common in
descriptions to be evidence on its own, so it counts only through the name or the full text. A ready-made journal
without a location is never compared: nothing in it says which day of which till it is.
"""

import re
from collections.abc import Iterable

from fortnox_bridge.vouchers.day_listing import DayVoucher
from fortnox_bridge.vouchers.marker import MARKER

MIN_CODE_LENGTH = 3


def foreign_voucher(
    listed: Iterable[DayVoucher], *, location: str, location_name: str | None, description: str
) -> DayVoucher | None:
    """The first voucher in ``listed`` (one day's) that books this location's day without the bridge, or None."""
    names = [name for name in (location_name, location) if name and len(name.strip()) >= MIN_CODE_LENGTH]
    patterns = [re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)", re.IGNORECASE) for name in names]
    own_text = _plain(description)
    for voucher in sorted(listed, key=lambda item: (item.series, item.number)):
        if MARKER.search(voucher.description):
            continue
        if any(pattern.search(voucher.description) for pattern in patterns) or _plain(voucher.description) == own_text:
            return voucher
    return None


def _plain(text: str) -> str:
    return " ".join(MARKER.sub("", text).split()).casefold()
