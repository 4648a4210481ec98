"""The room load benchmark's own client works end to end (speeds are measured in bench/, not here)."""

from __future__ import annotations

import asyncio
from argparse import Namespace

import pytest

from bench.room_load import main_async, wall_delays


def test_two_phones_and_a_wall_over_the_websocket_protocol():
    result = asyncio.run(main_async(Namespace(sessions=2, every=2.0, seconds=12.0)))
    assert result["error_count"] == 0, result["errors"]
    assert result["submissions"] >= 4  # each phone sent and saw its prediction at least twice
    assert result["wall_delay_seconds"]["refreshes"] >= 2  # the wall followed its auto-refresh
    assert result["submit_to_prediction_seconds"]["p50"] is not None


def test_wall_delay_is_measured_from_each_submission():
    seen = [(10.0, 0), (11.5, 1), (13.0, 3)]
    assert wall_delays([10.2, 11.8, 12.0], seen) == pytest.approx([1.3, 1.2, 1.0])
