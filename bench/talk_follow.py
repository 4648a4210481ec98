"""Talk benchmark: N phones on Follow while the presenter moves through a deck; how soon each phone shows the step.

What it measures. ``streamlit run streamlit_app.py`` starts as in bench/room_load.py (its
``room_server``: own data and runs folders, a presenter key so every client is audience, a room
open), with a synthetic tiny ``mnist.npz`` in the data folder (``--no-mnist``: none, and the steps
that need it say so in words). The bench starts the shipped deck ``three-apis``
(``core.talk.live.start_talk``, writing ``.talk.json`` in the server's data folder itself), then N
phones open Follow (``/follow``), each from its own loopback address (bench/streamlit_client.py),
and follow the page's ``st.fragment(run_every=0.5)`` as a browser does: a timer per fragment
from when the page told it (a tick that falls while a rerun is in flight is queued once, as the
server coalesces a fragment's queued reruns). The fragment marks where the talk is; when the mark
differs from the step drawn, the bench presses the page's hidden redraw button, as the page's script
does in a browser, and the step's fragment reruns alone.

1. Idle (``--idle`` seconds, no move): server CPU and fragment reruns served, so the CPU of one
   idle fragment rerun (a phone asking "did the step change?").
2. Moves: every ``--every`` seconds for ``--seconds`` the bench moves the talk one step
   (``go_to``; through the whole deck by default, wrapping to the first step; ``--steps 0,3,4``
   cycles those), and for every phone measures the lag from the move (just before ``.talk.json``
   is written) until it has received a rerun, to its end (``script_finished``), whose headings
   hold the new step's title (Follow shows it as a subheader). A phone that never showed a step
   before the next move (or, for the last one, before the end) *missed* it; missed moves are not
   in the lag's percentiles but counted, and ``within_1s`` counts them as late.

With ``--drawing K``, K more phones (numbered after the followers) sit on Join during the moves
and do what room_load's phones do (bench.room_load.open_join / phone: two strokes, Send, the
answer, one digit every ``--draw-every`` seconds): their send -> answer is reported.

Target (the 2-core reference machine): 100 phones following, one move every 5 s: p95 lag <= 1 s,
no phone missing a move, no errors, and following fits the room's budget (room_load: 100 phones,
p95 send -> answer <= 1 s; try ``--drawing 100``). Report the spread: the per-move p95s (median,
min, max over the moves) besides the pooled p50/p95/max.

    python -m bench.talk_follow                       # 100 phones, a move every 5 s for 60 s
    python -m bench.talk_follow --sessions 10 --seconds 15   # or --quick: 10 phones, 15 s
    python -m bench.talk_follow --sessions 100 --drawing 30 --steps 0,3,4,5

Prints one JSON object: sessions, moves, lag p50/p95/max (seconds, over all phones x moves), the
spread of the per-move p95, each move (step, view, p50/p95/max, missed), phones that missed a move,
errors (count and the first 20), server CPU (cores, idle and during moves) and RSS (peak, MB), the
fragment reruns per second served (and how many turned into a page run), the CPU of an idle
fragment rerun (ms), the bench's own CPU (it shares the machine), and the drawing phones' numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from bench.room_load import (  # noqa: E402
    Tally,
    digit_strokes,
    open_join,
    percentile,
    phone,
    phone_address,
    room_server,
    server_usage,
    spread,
    thread_cpu,
)
from bench.stats import spread as median_spread  # noqa: E402
from bench.streamlit_client import RunResult, StreamlitClient  # noqa: E402

DECK = "three-apis"
FOLLOW = "follow"  # the page's url_path (pages/follow.py)
WARM_ADDRESS = "127.0.0.3"  # the first visitor: loads TensorFlow and the model (as room_load's)


@dataclass
class Move:
    at: float  # time.monotonic() just before .talk.json was written
    step: int
    title: str
    kind: str  # the step's view


@dataclass
class Follow:
    """What every follower adds to."""

    moves: list[Move] = field(default_factory=list)
    seen: dict[tuple[int, int], float] = field(default_factory=dict)  # (phone, move) -> lag, seconds
    reruns: list[tuple[float, bool, float]] = field(default_factory=list)  # (ended, became a page run, seconds)
    loads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    opened: int = 0


def headings(result: RunResult) -> list[str]:
    return [e.proto.body for e in result.elements if e.type == "heading"]


def page_run(result: RunResult) -> bool:
    return result.status == ForwardMsg.FINISHED_SUCCESSFULLY


MARK = re.compile(r'class="(follow-live|follow-drawn)" data-sig="([0-9a-f]+)"')


def marks(client: StreamlitClient) -> dict[str, str]:
    """The page's two marks as they stand: where the talk is (``follow-live``) and what is drawn (``follow-drawn``)."""
    out = {}
    for element in client.page_elements.values():
        if element.type == "html" and (m := MARK.search(element.proto.body)):
            out[m.group(1)] = m.group(2)
    return out


async def redraw_if_moved(client: StreamlitClient, n: int, tally: Follow) -> None:
    """What the page's script does (pages/follow.py, every 0.1 s): the marks differ, so it presses the hidden
    button, which reruns the step's fragment alone."""
    seen = marks(client)
    if not seen or seen.get("follow-live") == seen.get("follow-drawn"):
        return
    button = next((e for e in client.page_elements.values() if e.type == "button"
                   and e.proto.id.endswith("follow_refresh")), None)  # fmt: skip
    if button is None:
        tally.errors.append(f"follower {n}: no redraw button on the page")
        return
    await asyncio.sleep(random.uniform(0, 0.1))  # the script's 0.1-s check
    result = await client.rerun(triggers=(button.proto.id,), fragment_id=client.fragment_of(button.proto.id),
                                timeout=30)  # fmt: skip
    note(tally, n, result)


def note(tally: Follow, n: int, result: RunResult) -> None:
    """After a phone's rerun: the latest move, if this rerun showed its title for the first time on this phone."""
    now = time.monotonic()
    shown = headings(result)
    tally.reruns.append((now, page_run(result), result.seconds))
    tally.errors += [f"follower {n}: {e}" for e in result.exceptions]
    if not tally.moves:
        return
    k = len(tally.moves) - 1
    move = tally.moves[k]
    if (n, k) not in tally.seen and any(move.title in body for body in shown):
        tally.seen[(n, k)] = now - move.at


async def open_follow(url: str, n: int, tally: Follow, gate: asyncio.Semaphore, first_title: str):
    """A phone opens Follow (a few at a time, as people scanning the code): the client, or None."""
    client = StreamlitClient(url, FOLLOW, local_addr=phone_address(n))
    try:
        await asyncio.sleep(random.uniform(0, 1.0))  # not all in step: each phone's timer starts when it opened
        async with gate:
            await client.connect()
            first = await client.rerun(timeout=120)
        tally.loads.append(first.seconds)
        tally.errors += [f"follower {n}: {e}" for e in first.exceptions]
        if not any(first_title in body for body in headings(first)):
            tally.errors.append(f"follower {n}: Follow did not show the first step ({headings(first)})")
        tally.opened += 1
        return client
    except Exception as exc:
        tally.errors.append(f"follower {n}: {type(exc).__name__}: {exc}")
    await client.close()
    return None


async def follower(client: StreamlitClient, n: int, until: list[float], tally: Follow) -> None:
    """The browser's ``run_every`` timers: each fragment on its own grid from when the page announced it (again after
    every page run); a tick during a rerun in flight is sent as soon as it ends (once however many ticks fell: the
    server coalesces them)."""
    next_tick: dict[str, float] = {}
    try:
        while time.monotonic() < until[0] and not client.closed:
            now = time.monotonic()
            for fragment, interval in list(client.auto_reruns.items()):
                next_tick.setdefault(fragment, now + interval)
            for fragment in [f for f in next_tick if f not in client.auto_reruns]:
                del next_tick[fragment]
            if not next_tick:
                await asyncio.sleep(0.1)
                continue
            fragment = min(next_tick, key=next_tick.get)
            await asyncio.sleep(max(0.0, next_tick[fragment] - time.monotonic()))
            if time.monotonic() >= until[0]:
                break
            sent = time.monotonic()
            interval = client.auto_reruns.get(fragment) or 0.5
            while next_tick[fragment] <= sent:
                next_tick[fragment] += interval
            try:
                result = await client.rerun(fragment_id=fragment, auto=True, timeout=30)
            except TimeoutError as exc:
                tally.errors.append(f"follower {n}: TimeoutError: {exc}")
                continue
            note(tally, n, result)
            if page_run(result):  # it became a page run: the browser drops its timers, the page sets them anew
                next_tick.clear()
            await redraw_if_moved(client, n, tally)
    except Exception as exc:  # a dropped connection is an error of the run, not of the bench
        tally.errors.append(f"follower {n}: {type(exc).__name__}: {exc}")
    finally:
        await client.close()


async def wait_quiet(pid: int, cores: float = 0.15, longest: float = 240.0) -> float:
    """Waits until the server uses under ``cores`` for 2 s in a row (TensorFlow's import and the model's warm-up
    run in a background thread after the first page); returns the seconds waited."""
    t0 = time.monotonic()
    calm = 0
    cpu = server_usage(pid)[0]
    while time.monotonic() - t0 < longest and calm < 2:
        await asyncio.sleep(1.0)
        now = server_usage(pid)[0]
        calm = calm + 1 if now - cpu < cores else 0
        cpu = now
    return round(time.monotonic() - t0, 1)


def write_mnist(data: Path) -> None:
    """A synthetic tiny mnist.npz (600 train, 100 test digits; tests/conftest.py's blocks), so data steps draw."""
    import numpy as np
    from conftest import synthetic_digits

    (x_train, y_train), (x_test, y_test) = synthetic_digits(600, seed=1), synthetic_digits(100, seed=2)
    np.savez_compressed(data / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100, help="phones on Follow")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between two moves of the talk")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the talk keeps moving")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of following with no move, measured first")
    parser.add_argument("--steps", default="", help="the steps to cycle through, 0-based (default: the whole deck)")
    parser.add_argument("--drawing", type=int, default=0, help="more phones on Join drawing digits meanwhile")
    parser.add_argument("--draw-every", type=float, default=10.0, help="seconds between one drawing phone's digits")
    parser.add_argument("--no-mnist", action="store_true", help="no mnist.npz in the data folder")
    parser.add_argument("--quick", action="store_true", help="10 phones, 15 s, 3 s idle")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.seconds, args.idle = 10, 15.0, 3.0
    return args


async def main_async(args: argparse.Namespace) -> dict:
    with room_server() as (server, _room_path):
        if not args.no_mnist:
            write_mnist(server.data_dir)
        return await measure(server, args)


async def measure(server, args: argparse.Namespace) -> dict:
    from core.access.roles import LOCAL
    from core.talk.library import library
    from core.talk.live import go_to, start_talk

    data = Path(server.data_dir)
    deck = library(data).find(DECK, "en")
    if deck is None:
        raise SystemExit(f"the shipped deck {DECK} is missing")
    plan = [int(s) for s in args.steps.split(",")] if args.steps else list(range(len(deck.steps)))
    if len(plan) < 2 or any(not 0 <= s < len(deck.steps) for s in plan):
        raise SystemExit(f"--steps: at least two of 0..{len(deck.steps) - 1}")
    start_talk(deck, LOCAL, root=data, step=plan[0])

    pid = server.proc.pid
    warm = StreamlitClient(server.url, "join", local_addr=WARM_ADDRESS)  # TensorFlow and the model, as room_load
    await warm.connect()
    await warm.rerun(timeout=300)
    await warm.close()
    warm_wait = await wait_quiet(pid)

    tally = Follow()
    gate = asyncio.Semaphore(10)
    until = [float("inf")]  # the followers follow until the end of the moves (set below)
    clients = await asyncio.gather(
        *(open_follow(server.url, n, tally, gate, deck.steps[plan[0]].title) for n in range(args.sessions))
    )
    followers = [asyncio.create_task(follower(c, n, until, tally)) for n, c in enumerate(clients) if c]

    room = Tally()  # the drawing phones: room_load's own
    drawers = await asyncio.gather(*(open_join(server.url, args.sessions + k, room, gate) for k in range(args.drawing)))
    strokes = [digit_strokes(d) for d in range(10)] if args.drawing else []

    rss_seen = [server_usage(pid)[1]]
    done = asyncio.Event()

    async def sample_rss():
        while not done.is_set():
            with contextlib.suppress(OSError):
                rss_seen.append(server_usage(pid)[1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.5)

    sampler = asyncio.create_task(sample_rss())

    # 1. Idle: every phone asks twice a second, nothing changes.
    await asyncio.sleep(1.0)  # the last phones' first ticks
    i0, cpu_i0, bench_i0 = time.monotonic(), server_usage(pid)[0], time.process_time()
    await asyncio.sleep(args.idle)
    i1, cpu_i1, bench_i1 = time.monotonic(), server_usage(pid)[0], time.process_time()
    idle_reruns = [r for r in tally.reruns if i0 <= r[0] < i1]

    # 2. Moves, one every --every seconds; the followers follow one interval past the last.
    count = max(1, int(args.seconds // args.every))
    t0, cpu0, bench0 = time.monotonic(), server_usage(pid)[0], time.process_time()
    threads0 = thread_cpu(pid)
    until[0] = t0 + count * args.every
    draw_jobs = [asyncio.create_task(phone(*found, args.sessions + k, args.draw_every, t0, until[0], room, strokes))
                 for k, found in enumerate(drawers) if found]  # fmt: skip
    writes: list[float] = []  # seconds to write .talk.json (go_to)
    for i in range(count):
        await asyncio.sleep(max(0.0, t0 + i * args.every - time.monotonic()))
        step = plan[(i + 1) % len(plan)]
        tally.moves.append(Move(time.monotonic(), step, deck.steps[step].title, deck.steps[step].view.kind))
        try:  # in a thread: the write is synced to disk, and the phones' answers must not wait on it here
            await asyncio.to_thread(go_to, step, LOCAL, root=data)
        except Exception as exc:
            tally.errors.append(f"move {i}: {type(exc).__name__}: {exc}")
        writes.append(time.monotonic() - tally.moves[-1].at)
    await asyncio.gather(*followers)
    t1, cpu1, bench1 = time.monotonic(), server_usage(pid)[0], time.process_time()
    threads = thread_cpu(pid)
    await asyncio.gather(*draw_jobs)
    _cpu, rss, peak = server_usage(pid)
    done.set()
    await sampler
    elapsed = t1 - t0

    phones = [n for n, c in enumerate(clients) if c]
    lags = list(tally.seen.values())
    per_move, missed_by = [], set()
    for k, move in enumerate(tally.moves):
        here = [tally.seen[(n, k)] for n in phones if (n, k) in tally.seen]
        missed = [n for n in phones if (n, k) not in tally.seen]
        missed_by.update(missed)
        per_move.append({"step": move.step, "view": move.kind, **spread(here), "missed": len(missed)})
    pairs = len(phones) * len(tally.moves)
    move_reruns = [r for r in tally.reruns if t0 <= r[0] < t1]
    idle_cpu = cpu_i1 - cpu_i0
    busiest = sorted((threads[t] - threads0[t] for t in threads if t in threads0), reverse=True)[:3]
    drawing = None
    if args.drawing:
        drawing = {
            "phones": args.drawing,
            "opened": sum(1 for d in drawers if d),
            "every_seconds": args.draw_every,
            "digits_sent": room.sent,
            "digits_answered": len(room.answer),
            "send_to_answer_seconds": spread(room.answer),
            "error_count": len(room.errors),
        }
    errors = tally.errors + [f"drawing {e}" for e in room.errors]
    return {
        "sessions": args.sessions,
        "followers_opened": tally.opened,
        "deck": DECK,
        "steps": plan,
        "every_seconds": args.every,
        "seconds": round(elapsed, 1),
        "moves": len(tally.moves),
        "lag_seconds": spread(lags),
        "lag_within_1s": round(sum(1 for lag in lags if lag <= 1.0) / pairs, 3) if pairs else None,
        "lag_per_move_p95": median_spread([m["p95"] for m in per_move if m["p95"] is not None], 3),
        "per_move": per_move,
        "move_write_seconds": spread(writes),
        "missed_moves": pairs - len(lags),
        "phones_that_missed_a_move": len(missed_by),
        "errors": errors[:20],
        "error_count": len(errors),
        "follow_load_seconds": spread(tally.loads, maximum=False),
        "idle": {
            "seconds": round(i1 - i0, 1),
            "server_cpu_cores": round(idle_cpu / (i1 - i0), 2),
            "fragment_reruns_per_second": round(len(idle_reruns) / (i1 - i0), 1),
            "server_cpu_ms_per_fragment_rerun": round(1000 * idle_cpu / len(idle_reruns), 2) if idle_reruns else None,
            "rerun_seconds": spread([r[2] for r in idle_reruns], maximum=False),
            "bench_cpu_cores": round((bench_i1 - bench_i0) / (i1 - i0), 2),
        },
        "fragment_reruns_per_second": round(len(move_reruns) / elapsed, 1),
        "page_runs_per_second": round(sum(1 for r in move_reruns if r[1]) / elapsed, 1),
        "rerun_seconds": spread([r[2] for r in move_reruns]),
        "server_cpu_cores": round((cpu1 - cpu0) / elapsed, 2),
        "server_long_lived_threads_cores": [round(c / elapsed, 2) for c in busiest],
        "bench_cpu_cores": round((bench1 - bench0) / elapsed, 2),
        "server_rss_mb": round(rss / 1024),
        "server_peak_rss_mb": round(max(peak, *rss_seen) / 1024),
        "warm_up_wait_seconds": warm_wait,
        "mnist": not args.no_mnist,
        "drawing": drawing,
        "target": {
            "lag_p95_seconds": 1.0,
            "sessions": 100,
            # None below 100 phones: a smaller room says nothing of the target
            "met": bool(lags and percentile(lags, 0.95) <= 1.0 and pairs == len(lags) and not errors)
            if args.sessions >= 100
            else None,
        },
    }


def main() -> None:
    print(json.dumps(asyncio.run(main_async(parse_args()))))


if __name__ == "__main__":
    main()
