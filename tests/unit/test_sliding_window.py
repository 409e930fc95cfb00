"""The sliding-window rule itself: never more than the limit in any window, and no wasted capacity."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fortnox_bridge.ratelimit.sliding_window import WindowRule, next_slot

RULE = WindowRule(limit=25, window_seconds=5.0, margin_seconds=0.1)


def test_the_first_25_go_at_once_and_the_26th_waits_a_full_window() -> None:
    sent: list[float] = []
    for _ in range(25):
        sent.append(next_slot(sent, 100.0, RULE))
    assert sent == [100.0] * 25
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
    # 250 requests need 10 windows: 9 full waits of 5.1 s after the first burst.
    assert sent[-1] == pytest.approx(9 * 5.1)
