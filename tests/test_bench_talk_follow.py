"""The talk benchmark's phones follow the Follow page as a browser does (speeds are measured in bench/, not here):
each move of the talk reaches every phone through the page's redraw button, with no error."""

from __future__ import annotations

import asyncio

from bench.talk_follow import main_async, parse_args


def test_two_phones_see_every_move_of_the_talk():
    result = asyncio.run(main_async(parse_args(["--sessions", "2", "--seconds", "9", "--every", "3", "--idle", "1",
                                                "--steps", "0,3,4"])))  # fmt: skip
    assert result["error_count"] == 0, result["errors"]
    assert result["followers_opened"] == 2
    assert result["moves"] >= 2
    assert result["missed_moves"] == 0 and result["lag_seconds"]["count"] == 2 * result["moves"]
    assert result["lag_seconds"]["max"] < 5.0  # seen at all, through the hidden button (not by a page reload)
    assert result["idle"]["fragment_reruns_per_second"] > 2  # each phone polled twice a second
