"""The sliding-window rule itself: never more than the limit in any window, and no wasted capacity."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fortnox_bridge.ratelimit.sliding_window import WindowRule, next_slot

RULE = WindowRule(limit=25, window_seconds=5.0, margin_seconds=0.1)


def test_a_full_window_is_spread_evenly_and_the_26th_waits_a_full_window() -> None:
    sent: list[float] = []
    for _ in range(25):
        sent.append(next_slot(sent, 100.0, RULE))
    assert sent == pytest.approx([100.0 + index * 5.1 / 25 for index in range(25)])
    assert next_slot(sent, 100.0, RULE) == 105.1


@given(st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200))
def test_no_window_ever_holds_more_than_the_limit(gaps: list[float]) -> None:
    sent: list[float] = []
    now = 0.0
    for gap in gaps:
        now += gap
        sent.append(next_slot(sent, now, RULE))
    for index, start in enumerate(sent):
        inside = [moment for moment in sent[index:] if moment < start + RULE.window_seconds]
        assert len(inside) <= RULE.limit


def test_a_steady_stream_uses_the_window_fully() -> None:
    sent: list[float] = []
    for _ in range(250):
        sent.append(next_slot(sent, 0.0, RULE))
    # Every request goes exactly a window (plus the margin) after the one 25 places before it.
    assert [later - earlier for earlier, later in zip(sent, sent[25:], strict=False)] == pytest.approx([5.1] * 225)
