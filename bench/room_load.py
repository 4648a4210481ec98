"""Load benchmark: a room at a talk. N phones draw digits on Join while the wall is on the projector.

Starts ``streamlit run streamlit_app.py`` with a presenter key (so every client is audience),
opens a room (``core.room.active.open_room``), then N phones speak Streamlit's websocket protocol
(bench/streamlit_client.py), each from its own loopback address (127.0.0.10, 127.0.0.11...: the
server limits per client address, and a room's phones each have their own). Every phone opens
Join, then, one digit every ``--every`` seconds (each phone starting at a random offset):

1. two pen strokes: the drawing pad's value set to a partial drawing, then to the full digit,
   each a rerun (of the pad's fragment when Join draws it in an ``st.fragment``, as a browser
   does; of the page otherwise);
2. "Send my digit", timed until the rerun shows the model's reading ("The model read" or
   "I don't know"): **send -> answer**;
3. the answer: "Yes, that's right" when offered, otherwise a class in the pills.

One more client keeps the Wall open the whole time and follows its ``run_every`` refresh (an
auto rerun of its fragment); the wall's lag is how long after a phone saw its answer the wall's
"Submissions" count included it.

Attackers, one per flag, each from its own single address, for the whole run:

- ``--reconnect-flood``: opens a new session again and again and submits a digit as fast as
  the server lets it (a new session as soon as one is refused); reported: how many of its
  submissions reached the room per minute (the room's events, by its sessions' sender hashes
  or its address's origin hash): per minute over the run, and the most in any 60-s window (the
  target: <= 30, however many sessions).
- ``--upload-flood``: PUTs ``--upload-mb`` files (default 40 MB) to its own session's
  ``/_stcore/upload_file/<session>/<id>`` with the XSRF cookie and header, as fast as they are
  accepted; reported: MB accepted and refused, and the server's RSS growth.
- ``--clear-cache-loop``: sends ``BackMsg.clear_cache`` every second (it clears
  ``st.cache_data`` and ``st.cache_resource`` for every user, unless the server refuses).

    python -m bench.room_load --sessions 100 [--every 10] [--seconds 60]
    python -m bench.room_load --sessions 30 --reconnect-flood --upload-flood --clear-cache-loop

Prints one JSON object: digits sent, answered and completed (strokes, send, answer), send ->
answer p50/p95/max, every rerun's p50/p95 (all, and by kind: pen strokes, sends, answers), Join's
load time, the wall's delay p50/p95/max, errors (the first 20 and the count), the server's CPU
(cores used over the run, and its busiest long-lived threads) and RSS (at the end and peak, MB),
how many distinct source addresses the phones had (and, if the room records an origin per
submission, how many distinct origins it saw), and each attacker's numbers. Phones open Join
before the measured ``--seconds`` start (10 at a time); the wall is open before too.

Targets (the 2-core reference machine): 100 phones with the wall open, one digit every 10 s
each: p95 send -> answer <= 1 s, no errors. 30 phones and one attacker of each kind: p95
send -> answer <= 1.5 s for the 30 phones, no errors on them.

A real-browser variant (Chromium on phone-sized pages): ``python -m bench.room_browsers``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.streamlit_client import (  # noqa: E402
    XSRF_COOKIE,
    RunResult,
    StreamlitClient,
    http_request,
    multipart,
)

KEY = "bench-presenter-key"  # CNNLAB_PRESENTER_KEY of the server: at least 12 characters
ATTACKER_ADDRESSES = {"reconnect_flood": "127.0.0.250", "upload_flood": "127.0.0.251",
                      "clear_cache_loop": "127.0.0.252"}  # fmt: skip
WALL_ADDRESS = "127.0.0.2"  # the projector's laptop
ANSWERED = ("The model read", "I don't know")  # the markdown a phone shows once the model answered
PILL_LABELS = ("No, it was:", "What was it?")
ERROR_ALERT = 1  # Alert.Format.ERROR


def phone_address(n: int) -> str:
    """The n-th phone's own loopback address: 127.0.0.10..249, then 127.0.1.1.. (all of 127/8 is lo)."""
    if n < 240:
        return f"127.0.0.{10 + n}"
    n -= 240
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def _png_url(img) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def digit_strokes(d: int) -> tuple[str, str]:
    """Two drawing-pad PNGs (280x280, black ink on a transparent canvas) of a printed digit:
    after the first stroke (its top half) and after the second (the whole digit)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((70, 10), str(d), fill=(0, 0, 0, 255), font=ImageFont.load_default(size=230))
    partial = img.copy()
    ImageDraw.Draw(partial).rectangle((0, 140, 280, 280), fill=(0, 0, 0, 0))
    return _png_url(partial), _png_url(img)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3)


def spread(values: list[float], maximum: bool = True) -> dict:
    out = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}
    if maximum:
        out["max"] = percentile(values, 1.0)
    out["count"] = len(values)
    return out


def server_usage(pid: int) -> tuple[float, int, int]:
    """(CPU seconds used, resident KB, peak resident KB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return cpu, int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds used by each thread of a process ("tid name" -> seconds)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            name, fields = (task / "stat").read_text().split("(", 1)[1].rsplit(")", 1)
            fields = fields.split()
            out[f"{task.name} {name}"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def wall_delays(submitted: list[float], seen: list[tuple[float, int]]) -> list[float]:
    """For the k-th submission, seconds until the wall first showed at least k."""
    delays = []
    for k, t in enumerate(sorted(submitted), start=1):
        when = next((ts for ts, count in seen if count >= k), None)
        if when is not None:
            delays.append(max(0.0, when - t))
    return delays


def sender_hash(session: str) -> str:
    """The room's sender field for a web session (core.room.submissions.sender_of)."""
    try:
        from core.room.submissions import sender_of
    except ImportError:
        return hashlib.sha256(session.encode()).hexdigest()[:12]
    return sender_of(session)


def room_submits(room_path: Path) -> list[dict]:
    """The room's submit events, read straight from its events file."""
    events = []
    with contextlib.suppress(OSError):
        for line in (room_path / ".events.jsonl").read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("type") == "submit":
                    events.append(event)
    return events


def alerts(result: RunResult, fmt: int | None = None) -> list[str]:
    return [e.proto.body for e in result.elements if e.type == "alert" and (fmt is None or e.proto.format == fmt)]


class Tally:
    """What every client of one run adds to: latencies, errors, what the wall saw."""

    def __init__(self):
        self.answer: list[float] = []  # send -> answer, seconds
        self.reruns: dict[str, list[float]] = {"stroke": [], "send": [], "answer": []}  # every phone rerun
        self.loads: list[float] = []  # a phone opening Join
        self.submitted: list[float] = []  # when a phone (or an attacker) saw its submission accepted
        self.wall: list[tuple[float, int]] = []  # (when, "Submissions" count) at every wall refresh
        self.wall_reruns: list[float] = []
        self.errors: list[str] = []
        self.sent = 0
        self.phone_digits: dict[int, int] = {}  # phone -> digits completed (strokes, send, answer)
        self.addresses: dict[int, str] = {}  # phone -> source address of its websocket
        self.sessions: dict[int, str] = {}  # phone -> its session id


async def timed(room: Tally, kind: str, client: StreamlitClient, **kwargs) -> RunResult:
    result = await client.rerun(**kwargs)
    room.reruns[kind].append(result.seconds)
    return result


async def open_join(url: str, n: int, room: Tally, gate: asyncio.Semaphore):
    """A phone opens Join (at most a few at a time, as people scanning the code): (client, pad) or None."""
    who = f"phone {n}"
    client = StreamlitClient(url, "join", local_addr=phone_address(n))
    room.phone_digits[n] = 0
    try:
        async with gate:
            await client.connect()
            first = await client.rerun()
        room.loads.append(first.seconds)
        room.addresses[n], room.sessions[n] = client.local_address, client.session_id
        room.errors += [f"{who}: {e}" for e in first.exceptions]
        pad = client.find_on_page("bidi_component")
        if pad is not None:
            return client, pad
        room.errors.append(f"{who}: no drawing pad on Join ({alerts(first)})")
    except Exception as exc:
        room.errors.append(f"{who}: {type(exc).__name__}: {exc}")
    await client.close()
    return None


async def phone(client: StreamlitClient, pad, n: int, every: float, start: float, until: float, room: Tally,
                strokes: list, digits: int = 0) -> None:  # fmt: skip
    """One digit every ``every`` seconds from a random offset: two strokes, Send, the answer.

    ``digits`` > 0: the phone stops after that many answered digits (``until`` is then a deadline).
    """
    who = f"phone {n}"
    try:
        next_at = start + random.uniform(0, every)  # phones do not all start at once
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= until or (digits and room.phone_digits[n] >= digits):
                break
            next_at += every
            digit = random.randrange(10)
            pad = client.find_on_page("bidi_component") or pad  # each Send leaves a new, blank pad
            for png in strokes[digit]:  # the pen lifts twice: a partial drawing, then the whole digit
                client.set_json(pad.id, {"png": png})
                drawn = await timed(room, "stroke", client, fragment_id=client.fragment_of(pad.id))
                room.errors += [f"{who}: {e}" for e in drawn.exceptions]
            send = client.find(drawn, "button", lambda b: b.label == "Send my digit" and not b.disabled)
            if send is None:
                room.errors.append(f"{who}: no enabled Send button after drawing ({alerts(drawn)})")
                continue
            room.sent += 1
            t0 = time.monotonic()
            sent = await timed(room, "send", client, triggers=(send.id,), fragment_id=client.fragment_of(send.id))
            room.errors += [f"{who}: {e}" for e in sent.exceptions]
            if not answered(client, sent):
                room.errors.append(f"{who}: no answer after Send ({alerts(sent)})")
                continue
            room.answer.append(time.monotonic() - t0)
            room.submitted.append(time.monotonic())
            if await answer(client, sent, digit, room, who):
                room.phone_digits[n] += 1
    except Exception as exc:  # a dropped connection or a timeout is an error of the run, not of the bench
        room.errors.append(f"{who}: {type(exc).__name__}: {exc}")
    finally:
        await client.close()


def answered(client: StreamlitClient, sent: RunResult) -> bool:
    """Send's rerun shows the model's reading and no error (a refused send still shows the last reading)."""
    shown = client.find(sent, "markdown", lambda m: any(a in m.body for a in ANSWERED))
    return shown is not None and not alerts(sent, ERROR_ALERT) and not sent.exceptions


async def answer(client: StreamlitClient, sent: RunResult, digit: int, room: Tally, who: str) -> bool:
    """Says what the digit was: "Yes, that's right" if offered, else the drawn class in the pills."""
    yes = client.find(sent, "button", lambda b: b.label == "Yes, that's right")
    if yes is not None:
        result = await timed(room, "answer", client, triggers=(yes.id,), fragment_id=client.fragment_of(yes.id))
    else:
        pills = client.find(sent, "button_group", lambda p: p.label in PILL_LABELS)
        if pills is None:
            room.errors.append(f"{who}: neither 'Yes, that's right' nor the pills after the answer")
            return False
        options = [o.content for o in pills.options]
        client.set_strings(pills.id, [str(digit) if str(digit) in options else random.choice(options)])
        result = await timed(room, "answer", client, fragment_id=client.fragment_of(pills.id))
    room.errors += [f"{who}: {e}" for e in result.exceptions]
    failed = alerts(result, ERROR_ALERT)
    if failed:
        room.errors.append(f"{who}: the answer was refused ({failed})")
    return not failed and not result.exceptions


async def wall(client: StreamlitClient, until: list[float], room: Tally) -> None:
    """The projector: the Wall page (opened already, or now), then its fragment's auto reruns until ``until[0]``
    (a list: the phones may end sooner, and then the wall follows a few more refreshes, not the whole window)."""
    try:
        if client.ws is None:
            await client.connect()
            first = await client.rerun()
            room.errors += [f"wall: {e}" for e in first.exceptions]
        while time.monotonic() < until[0]:
            if not client.auto_reruns:
                await asyncio.sleep(0.2)
                continue
            # Every auto-rerunning fragment, as the browser runs each on its timer (the Wall has its live view and the
            # challenge's referee): the one that shows "Submissions" gives the wall's delay.
            await asyncio.sleep(min(client.auto_reruns.values()))
            for fragment in list(client.auto_reruns):
                result = await client.rerun(fragment_id=fragment, auto=True)
                room.wall_reruns.append(result.seconds)
                room.errors += [f"wall: {e}" for e in result.exceptions]
                metric = client.find(result, "metric", lambda m: m.label == "Submissions")
                if metric is not None:
                    room.wall.append((time.monotonic(), int(metric.body.replace(",", ""))))
    except Exception as exc:
        room.errors.append(f"wall: {type(exc).__name__}: {exc}")
    finally:
        await client.close()


# ----- attackers ---------------------------------------------------------------------------------


async def reconnect_flood(url: str, until: float, room: Tally, strokes: list, out: dict) -> None:
    """New sessions from one address, each sending digits until refused, then the next one."""
    out.update(address=ATTACKER_ADDRESSES["reconnect_flood"], sessions=0, sends=0, accepted_seen=0, refused_seen=0,
               failures=0, last_refusal=None, last_failure=None, senders=set())  # fmt: skip
    while time.monotonic() < until:
        client = StreamlitClient(url, "join", local_addr=out["address"])
        try:
            await client.connect(timeout=30)
            first = await client.rerun(timeout=60)
            out["sessions"] += 1
            out["senders"].add(client.session_id)
            pad = client.find_on_page("bidi_component")
            if pad is None:
                out["refused_seen"] += 1
                out["last_refusal"] = (alerts(first) or [f"no pad ({len(first.elements)} elements)"])[0][:200]
                await asyncio.sleep(0.05)
                continue
            client.set_json(pad.id, {"png": strokes[random.randrange(10)][1]})
            result = await client.rerun(fragment_id=client.fragment_of(pad.id), timeout=60)
            while time.monotonic() < until:
                send = client.find_on_page("button", lambda b: b.label == "Send my digit" and not b.disabled)
                if send is None:
                    out["last_refusal"] = (alerts(result) or ["no enabled Send button"])[0][:200]
                    break
                out["sends"] += 1
                result = await client.rerun(triggers=(send.id,), fragment_id=client.fragment_of(send.id), timeout=60)
                if not answered(client, result):
                    out["refused_seen"] += 1
                    out["last_refusal"] = (alerts(result) or ["no answer"])[0][:200]
                    break  # refused: a new session gets a fresh allowance (unless the address is limited too)
                out["accepted_seen"] += 1
                room.submitted.append(time.monotonic())
        except Exception as exc:
            out["failures"] += 1
            out["last_failure"] = f"{type(exc).__name__}: {exc}"[:200]
            await asyncio.sleep(0.05)
        finally:
            await client.close()


async def open_session(client: StreamlitClient | None, url: str, out: dict) -> StreamlitClient:
    """``client`` if it is still connected, else a new session on Join from the attacker's address."""
    if client is not None and not client.closed:
        return client
    if client is not None:
        await client.close()
    client = StreamlitClient(url, "join", local_addr=out["address"])
    await client.connect(timeout=30)
    await client.rerun(timeout=60)
    out["sessions"] += 1
    return client


async def upload_flood(url: str, until: float, size_mb: float, out: dict) -> None:
    """Large files PUT to its own session's upload URL, one after another, as fast as accepted."""
    out.update(address=ATTACKER_ADDRESSES["upload_flood"], file_mb=size_mb, accepted_mb=0.0, refused_mb=0.0,
               statuses={}, failures=0, last_failure=None, sessions=0)  # fmt: skip
    data = os.urandom(int(size_mb * 1024 * 1024))
    client = None
    try:
        while time.monotonic() < until:
            try:
                client = await open_session(client, url, out)
                body, content_type = multipart(data, f"{uuid.uuid4().hex[:8]}.png", "image/png")
                headers = {"Content-Type": content_type}
                if client.xsrf:
                    headers |= {"Cookie": f"{XSRF_COOKIE}={client.xsrf}", "X-Xsrftoken": client.xsrf}
                status, _headers, _body = await http_request(
                    "PUT", f"{client.http_url}/_stcore/upload_file/{client.session_id}/{uuid.uuid4()}", headers, body,
                    local_addr=out["address"], timeout=120,
                )  # fmt: skip
                out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
                key = "accepted_mb" if status in (200, 204) else "refused_mb"
                out[key] = round(out[key] + size_mb, 1)
                if status not in (200, 204):
                    await asyncio.sleep(0.05)
            except Exception as exc:
                out["failures"] += 1
                out["refused_mb"] = round(out["refused_mb"] + size_mb, 1)
                out["last_failure"] = f"{type(exc).__name__}: {exc}"[:200]
                await asyncio.sleep(0.1)
    finally:
        if client is not None:
            await client.close()


async def clear_cache_loop(url: str, until: float, out: dict) -> None:
    """``BackMsg.clear_cache`` every second from one session (reconnecting if dropped)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    out.update(address=ATTACKER_ADDRESSES["clear_cache_loop"], sent=0, sessions=0, failures=0, last_failure=None)
    client = None
    try:
        while time.monotonic() < until:
            try:
                client = await open_session(client, url, out)
                back = BackMsg()
                back.clear_cache = True
                await client.send_back(back)
                out["sent"] += 1
            except Exception as exc:
                out["failures"] += 1
                out["last_failure"] = f"{type(exc).__name__}: {exc}"[:200]
            await asyncio.sleep(1.0)
    finally:
        if client is not None:
            await client.close()


# ----- the run -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100, help="phones on Join")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between one phone's digits")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the room keeps drawing")
    parser.add_argument("--digits", type=int, default=0,
                        help="each phone stops after this many answered digits (0: draw for --seconds); with it, "
                             "--seconds is a deadline, not a window (tests wait on a condition, not a clock)")  # fmt: skip
    parser.add_argument("--reconnect-flood", action="store_true", help="add an attacker reconnecting and submitting")
    parser.add_argument("--upload-flood", action="store_true", help="add an attacker uploading large files")
    parser.add_argument("--upload-mb", type=float, default=40.0, help="size of each upload-flood file")
    parser.add_argument("--challenge", action="store_true", help="a challenge open in the room (Join shows the picker)")
    parser.add_argument("--clear-cache-loop", action="store_true", help="add an attacker clearing the caches")
    return parser.parse_args(argv)


@contextlib.contextmanager
def room_server(challenge: bool = False):
    """``streamlit run`` with its own data and runs folders, a presenter key (every client is
    audience) and an open room (with a challenge open in it: every phone's Join shows the layer
    picker too): yields (AppServer, the room's folder)."""
    from browser import AppServer

    from core.access.roles import LOCAL
    from core.room.active import open_room

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        opened = open_room("Load test", "__default__", [str(d) for d in range(10)], LOCAL, root / "data")
        if challenge:
            from core.challenge.contest import Challenge
            from core.challenge.rules import ChallengeSettings
            from core.runs.jobs import JobManager

            Challenge.open(opened, ChallengeSettings(minutes=60), LOCAL, JobManager(root / "runs"))
        previous = os.environ.get("CNNLAB_PRESENTER_KEY")
        os.environ["CNNLAB_PRESENTER_KEY"] = KEY  # the server's environment
        server = AppServer(root / "data", root / "runs", root / "streamlit.log")
        if previous is None:
            os.environ.pop("CNNLAB_PRESENTER_KEY")
        else:
            os.environ["CNNLAB_PRESENTER_KEY"] = previous
        try:
            server.wait_ready()
            yield server, opened.path
        finally:
            server.stop()


async def main_async(args: argparse.Namespace) -> dict:
    with room_server(args.challenge) as (server, room_path):
        return await measure(server, room_path, args)


async def measure(server, room_path: Path, args: argparse.Namespace) -> dict:
    strokes = [digit_strokes(d) for d in range(10)]
    warm = StreamlitClient(server.url, "join", local_addr="127.0.0.3")  # the first visitor loads TF and the model
    await warm.connect()
    await warm.rerun(timeout=300)
    await warm.close()
    room = Tally()
    gate = asyncio.Semaphore(10)
    phones = await asyncio.gather(*(open_join(server.url, n, room, gate) for n in range(args.sessions)))
    wall_client = StreamlitClient(server.url, "wall", local_addr=WALL_ADDRESS)
    await wall_client.connect()
    room.errors += [f"wall: {e}" for e in (await wall_client.rerun()).exceptions]

    cpu0, rss0, _ = server_usage(server.proc.pid)
    threads0 = thread_cpu(server.proc.pid)
    bench0 = time.process_time()
    t0 = time.monotonic()
    until = t0 + args.seconds
    wall_until = [until + 3]
    wall_task = asyncio.create_task(wall(wall_client, wall_until, room))
    phone_jobs = [phone(c, pad, n, args.every, t0, until, room, strokes, args.digits)
                  for n, (c, pad) in enumerate(phones) if c]  # fmt: skip
    attackers: dict[str, dict] = {name: {} for name in ATTACKER_ADDRESSES if getattr(args, name)}
    attack = {
        "reconnect_flood": lambda out: reconnect_flood(server.url, until, room, strokes, out),
        "upload_flood": lambda out: upload_flood(server.url, until, args.upload_mb, out),
        "clear_cache_loop": lambda out: clear_cache_loop(server.url, until, out),
    }
    attack_tasks = [asyncio.create_task(attack[name](out)) for name, out in attackers.items()]
    rss_seen = [rss0]
    done = asyncio.Event()

    async def sample_rss():
        while not done.is_set():
            with contextlib.suppress(OSError):
                rss_seen.append(server_usage(server.proc.pid)[1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.5)

    sampler = asyncio.create_task(sample_rss())
    await asyncio.gather(*phone_jobs)
    wall_until[0] = min(wall_until[0], time.monotonic() + 3)  # phones done early (--digits): a few more refreshes
    if attack_tasks:  # an attacker's last request may hang on a loaded server: it stops with the phones
        _done, pending = await asyncio.wait(attack_tasks, timeout=max(0.0, until - time.monotonic()) + 1)
        for task in pending:
            task.cancel()
        await asyncio.gather(*attack_tasks, return_exceptions=True)
    elapsed = time.monotonic() - t0
    cpu1, rss, peak = server_usage(server.proc.pid)
    threads = thread_cpu(server.proc.pid)
    bench_cpu = time.process_time() - bench0
    # The busiest threads alive at both ends (the event loop, ...; a script run's thread ends with the run, so
    # those are not here): one near 1 core while the process stays below the cores it has is a bottleneck.
    busiest = sorted((threads[t] - threads0[t] for t in threads if t in threads0), reverse=True)[:3]
    done.set()
    await sampler
    await wall_task  # it follows a few more refreshes: the last submissions reach the wall too

    delays = wall_delays(room.submitted, room.wall)
    submits = room_submits(room_path)
    phone_senders = {sender_hash(s) for s in room.sessions.values() if s}
    origins = {e.get("origin") for e in submits if e.get("sender") in phone_senders}
    origins.discard(None)
    addresses = set(room.addresses.values())
    for name, out in attackers.items():
        if "senders" in out:
            senders = {sender_hash(s) for s in out.pop("senders") if s}
            here = {out["address"], sender_hash(out["address"])}  # the room keeps a hash of the address
            mine = [e for e in submits if e.get("sender") in senders or e.get("origin") in here]
            out["room_submissions"] = len(mine)
            out["room_submissions_per_minute"] = round(len(mine) * 60 / elapsed, 1)
            times = sorted(e["time"] for e in mine if isinstance(e.get("time"), float))
            out["room_submissions_most_in_any_minute"] = max(
                (sum(1 for u in times if t <= u < t + 60) for t in times), default=0
            )
        if name == "upload_flood":
            out["server_rss_growth_mb"] = round((max(rss_seen) - rss0) / 1024)
    digits = list(room.phone_digits.values())
    return {
        "sessions": args.sessions,
        "every_seconds": args.every,
        "seconds": round(elapsed, 1),
        "digits_sent": room.sent,
        "digits_answered": len(room.answer),
        "digits_completed": sum(digits),
        "digits_per_phone": {"min": min(digits, default=0), "max": max(digits, default=0)},
        "phones_with_a_full_digit": sum(1 for d in digits if d >= 1),
        "send_to_answer_seconds": spread(room.answer),
        "rerun_seconds": spread([s for kind in room.reruns.values() for s in kind], maximum=False),
        "rerun_seconds_by_kind": {kind: spread(seconds, maximum=False) for kind, seconds in room.reruns.items()},
        "join_load_seconds": spread(room.loads, maximum=False),
        "wall_delay_seconds": {
            **spread(delays),
            "refreshes": len(room.wall),
            "refresh_rerun_p95": percentile(room.wall_reruns, 0.95),
        },  # fmt: skip
        "errors": room.errors[:20],
        "error_count": len(room.errors),
        "server_cpu_cores": round((cpu1 - cpu0) / elapsed, 2),
        "server_long_lived_threads_cores": [round(c / elapsed, 2) for c in busiest],
        "bench_cpu_cores": round(bench_cpu / elapsed, 2),
        "server_rss_mb": round(rss / 1024),
        "server_peak_rss_mb": round(max(peak, *rss_seen) / 1024),
        "phone_source_addresses": len(addresses),
        # The room's origin of each phone's submissions (a hash of the address it saw), if it records one:
        # how many distinct, and whether they are exactly the phones' own source addresses.
        "room_origins": len(origins) if origins else None,
        "room_origins_are_phone_addresses": origins == {sender_hash(a) for a in addresses} if origins else None,
        "room_submissions": len(submits),
        "attackers": attackers,
    }


def main() -> None:
    print(json.dumps(asyncio.run(main_async(parse_args()))))


if __name__ == "__main__":
    main()
