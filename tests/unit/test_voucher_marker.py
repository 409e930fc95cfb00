"""The marker that finds a voucher again after a lost answer counts only where the bridge puts it: at the end."""

from fortnox_bridge.ids import TenantId
from fortnox_bridge.vouchers.journal import with_marker
from fortnox_bridge.vouchers.marker import marked, voucher_marker

MARKER = voucher_marker(TenantId("cafe-1"), "2026-11-23#kassa-1")


def test_the_voucher_the_bridge_made_carries_its_marker() -> None:
    assert marked(with_marker("Dagskassa 2026-11-23 Kassa 1", MARKER), MARKER)
    assert marked(with_marker("x" * 300, MARKER), MARKER)


def test_a_correction_voucher_quoting_the_text_is_not_the_days_voucher() -> None:
    copied = with_marker("Dagskassa 2026-11-23 Kassa 1", MARKER)
    assert not marked(f"Rättelse av {copied}, fel konto", MARKER)
    assert not marked(f"Rättelse{MARKER}", MARKER)


def test_another_days_marker_is_not_this_days() -> None:
    other = voucher_marker(TenantId("cafe-1"), "2026-11-23#kassa-2")
    assert not marked(with_marker("Dagskassa 2026-11-23 Kassa 2", other), MARKER)
    assert not marked(with_marker("Dagskassa", MARKER) + "X", MARKER)
