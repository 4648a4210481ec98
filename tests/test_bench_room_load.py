"""The room load benchmark's own client works end to end (speeds are measured in bench/, not here)."""

from __future__ import annotations

import asyncio

import pytest

from bench.room_load import main_async, parse_args, phone_address, wall_delays


@pytest.fixture(scope="module")
def two_phones() -> dict:
    """2 phones, each from its own address, drawing until each has one digit answered (a deadline of 180 s, not a
    fixed window: under load a 12 s window left a phone without a digit) while the wall is open."""
    return asyncio.run(main_async(parse_args(["--sessions", "2", "--every", "4", "--digits", "1", "--seconds", "180"])))


def test_two_phones_and_a_wall_over_the_websocket_protocol(two_phones):
    result = two_phones
    assert result["error_count"] == 0, result["errors"]
    # Every phone drew two strokes, sent, saw the model's answer and said what it was, at least once.
    assert result["phones_with_a_full_digit"] == 2, result
    assert result["digits_per_phone"]["min"] >= 1
    assert result["digits_answered"] >= 2 and result["send_to_answer_seconds"]["p50"] is not None
    assert result["rerun_seconds"]["count"] >= 4 * result["digits_completed"]  # 2 strokes, send, answer
    assert result["wall_delay_seconds"]["refreshes"] >= 2  # the wall followed its auto-refresh
    assert result["room_submissions"] >= 2


def test_each_phone_connects_from_its_own_address(two_phones):
    assert two_phones["phone_source_addresses"] == 2  # the sockets' own local addresses
    if two_phones["room_origins"] is not None:  # the room records where each submission came from
        assert two_phones["room_origins"] == 2
        assert two_phones["room_origins_are_phone_addresses"] is True


def test_phone_addresses_are_distinct_loopback_addresses():
    addresses = [phone_address(n) for n in range(1000)]
    assert len(set(addresses)) == 1000
    assert addresses[0] == "127.0.0.10" and addresses[239] == "127.0.0.249" and addresses[240] == "127.0.1.1"
    assert all(a.startswith("127.") and not a.endswith((".0", ".255")) for a in addresses)
    assert not {"127.0.0.250", "127.0.0.251", "127.0.0.252"} & set(addresses)  # the attackers' own


def test_wall_delay_is_measured_from_each_submission():
    seen = [(10.0, 0), (11.5, 1), (13.0, 3)]
    assert wall_delays([10.2, 11.8, 12.0], seen) == pytest.approx([1.3, 1.2, 1.0])
