"""Load benchmark: a room of phones drawing digits while the wall is on the projector.

Starts ``streamlit run streamlit_app.py`` (with a presenter key, so every client is audience),
opens a room, then N clients speak Streamlit's websocket protocol (bench/streamlit_client.py):
each opens Join, and every few seconds draws a digit (a real PNG on the drawing pad) and
presses "Send my digit". One more client keeps the Wall open and follows its auto-refresh.

    python -m bench.room_load [--sessions 30] [--every 5] [--seconds 60]

Prints one JSON object: submissions handled per second, p50/p95/max seconds from "Send" to
the prediction shown on the phone, how far the wall lags behind (p50/p95/max), the server's
CPU (cores) and memory, and every error. Target on the 2-core reference machine: 30 sessions
each submitting every 5 s, p95 submit-to-prediction <= 2 s, the wall at most 3 s behind, no
errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.streamlit_client import StreamlitClient  # noqa: E402

KEY = "bench-key"


def digit_data_url(d: int) -> str:
    """A drawing-pad PNG of a printed digit (280x280, black ink on a transparent canvas)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((70, 10), str(d), fill=(0, 0, 0, 255), font=ImageFont.load_default(size=230))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3)


def server_usage(pid: int) -> tuple[float, int, int]:
    """(CPU seconds used, resident KB, peak resident KB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return cpu, int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


async def phone(url: str, n: int, every: float, until: float, out: dict, digits: list[str]) -> None:
    client = StreamlitClient(url, "join")
    try:
        await client.connect()
        first = await client.rerun()
        out["errors"] += first.exceptions
        pad = client.find(first, "bidi_component")
        if pad is None:
            out["errors"].append(f"phone {n}: no drawing pad on Join")
            return
        await asyncio.sleep(random.uniform(0, every))  # phones do not all start at once
        while time.monotonic() < until:
            started = time.monotonic()
            client.set_json(pad.id, {"png": random.choice(digits)})
            drawn = await client.rerun()  # the stroke ends: the page reruns with the drawing
            send = client.find(drawn, "button", lambda b: b.label == "Send my digit" and not b.disabled)
            if send is None:
                out["errors"].append(f"phone {n}: no enabled Send button")
                break
            t0 = time.monotonic()
            sent = await client.rerun(triggers=(send.id,))
            shown = client.find(sent, "markdown", lambda m: "The model read" in m.body)
            out["errors"] += sent.exceptions
            if shown is None:
                out["errors"].append(
                    f"phone {n}: no prediction shown ({[m.body for t, m in sent.elements if t in ('alert',)]})"
                )
            else:
                out["latency"].append(time.monotonic() - t0)
                out["submitted"].append(time.monotonic())
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
    except Exception as exc:  # a dropped connection or a timeout is an error of the run, not of the bench
        out["errors"].append(f"phone {n}: {type(exc).__name__}: {exc}")
    finally:
        await client.close()


async def wall(url: str, until: float, out: dict) -> None:
    client = StreamlitClient(url, "wall")
    try:
        await client.connect()
        first = await client.rerun()
        out["errors"] += first.exceptions
        while time.monotonic() < until + 5:
            if not client.auto_reruns:
                await asyncio.sleep(0.2)
                continue
            fragment, interval = next(iter(client.auto_reruns.items()))
            await asyncio.sleep(interval)
            result = await client.rerun(fragment_id=fragment)
            out["errors"] += result.exceptions
            metric = client.find(result, "metric", lambda m: m.label == "Submissions")
            if metric is not None:
                out["wall"].append((time.monotonic(), int(metric.body.replace(",", ""))))
    except Exception as exc:
        out["errors"].append(f"wall: {type(exc).__name__}: {exc}")
    finally:
        await client.close()


def wall_delays(submitted: list[float], seen: list[tuple[float, int]]) -> list[float]:
    """For the k-th submission, seconds until the wall first showed at least k."""
    delays = []
    for k, t in enumerate(sorted(submitted), start=1):
        when = next((ts for ts, count in seen if count >= k), None)
        if when is not None:
            delays.append(max(0.0, when - t))
    return delays


async def main_async(args) -> dict:
    from browser import AppServer

    from core.roles import LOCAL
    from core.room import open_room

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        open_room("Load test", "__default__", [str(d) for d in range(10)], LOCAL, root / "data")
        previous = os.environ.get("CNNLAB_PRESENTER_KEY")
        os.environ["CNNLAB_PRESENTER_KEY"] = KEY  # the server's environment: every client is audience
        server = AppServer(root / "data", root / "runs", root / "streamlit.log")
        if previous is None:
            os.environ.pop("CNNLAB_PRESENTER_KEY")
        else:
            os.environ["CNNLAB_PRESENTER_KEY"] = previous
        try:
            server.wait_ready()
            digits = [digit_data_url(d) for d in (0, 2, 3, 4, 5, 7, 8)]
            warm = StreamlitClient(server.url, "join")  # the first visitor loads TensorFlow and the model
            await warm.connect()
            await warm.rerun(timeout=300)
            await warm.close()
            out = {"latency": [], "submitted": [], "wall": [], "errors": []}
            cpu0, _, _ = server_usage(server.proc.pid)
            t0 = time.monotonic()
            until = t0 + args.seconds
            await asyncio.gather(wall(server.url, until, out),
                                 *(phone(server.url, n, args.every, until, out, digits) for n in range(args.sessions)))  # fmt: skip
            elapsed = time.monotonic() - t0
            cpu1, rss, peak = server_usage(server.proc.pid)
        finally:
            server.stop()
    delays = wall_delays(out["submitted"], out["wall"])
    return {
        "sessions": args.sessions,
        "every_seconds": args.every,
        "seconds": round(elapsed, 1),
        "submissions": len(out["latency"]),
        "submissions_per_second": round(len(out["latency"]) / elapsed, 2),
        "submit_to_prediction_seconds": {
            "p50": percentile(out["latency"], 0.5),
            "p95": percentile(out["latency"], 0.95),
            "max": percentile(out["latency"], 1.0),
        },  # fmt: skip
        "wall_delay_seconds": {
            "p50": percentile(delays, 0.5),
            "p95": percentile(delays, 0.95),
            "max": percentile(delays, 1.0),
            "refreshes": len(out["wall"]),
        },  # fmt: skip
        "server_cpu_cores": round((cpu1 - cpu0) / elapsed, 2),
        "server_rss_mb": round(rss / 1024),
        "server_peak_rss_mb": round(peak / 1024),
        "errors": out["errors"][:20],
        "error_count": len(out["errors"]),
        "mean_latency": round(statistics.mean(out["latency"]), 3) if out["latency"] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between one phone's submissions")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the room keeps sending")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
