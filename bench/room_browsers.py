"""Load benchmark with real browsers: N phone-sized headless Chromium pages draw digits on Join.

The same room as ``bench.room_load`` (a server with a presenter key, so every page is
audience, and an open room), but each phone is a real page (390x844, mobile, touch) driven by
Playwright: it draws a 7 with the mouse on the pad's canvas (two strokes, each sending the
drawing as the pen lifts), presses "Send my digit", waits until the page shows the model's
reading, then answers ("Yes, that's right", or the pills), for R rounds. Each page reaches the
server through its own small relay that connects from the page's own loopback address
(127.0.0.10, 127.0.0.11...), as phones on a room's Wi-Fi would: the server limits per address.

    python -m bench.room_browsers --browsers 5 [--rounds 3] [--every 5]

Prints one JSON object: send -> answer p50/p95/max as the page saw it (the answer drawn), rounds
completed, errors, and the server's CPU. Chromium shares the machine's cores with the server
(about a core per few pages on the 2-core reference machine), so the protocol-level
``bench.room_load`` is what measures the server; this checks the real page and its timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.room_load import percentile, phone_address, room_server, room_submits, server_usage  # noqa: E402

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ANSWERED = re.compile(r"No, it was:|What was it\?")  # the pills of a reading not yet answered
THANKS = "Thanks!"


async def relay(port: int, source: str) -> tuple[asyncio.AbstractServer, int]:
    """A TCP relay on 127.0.0.1 to the server's ``port``, connecting from ``source``: (server, its port)."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def stroke(page, box: dict, points: list[tuple[float, float]]) -> None:
    """One pen stroke through ``points`` (fractions of the canvas), lifted at the end."""
    x, y = box["x"], box["y"]
    w, h = box["width"], box["height"]
    await page.mouse.move(x + w * points[0][0], y + h * points[0][1])
    await page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for k in range(1, 9):
            await page.mouse.move(x + w * (x0 + (x1 - x0) * k / 8), y + h * (y0 + (y1 - y0) * k / 8))
    await page.mouse.up()


async def wait_idle(page, timeout: float) -> None:
    """Streamlit's "running" widget gone (a rerun may start a moment after the event)."""
    await page.wait_for_timeout(150)
    await page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=timeout)


async def phone(browser, url: str, n: int, args, out: dict) -> None:
    who = f"browser {n}"
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    timeout = 60_000
    try:
        await page.goto(url + "/join", timeout=timeout)
        canvas = page.locator("canvas").first
        await canvas.wait_for(timeout=timeout)
        await wait_idle(page, timeout)
        await asyncio.sleep(random.uniform(0, args.every))  # phones do not all start at once
        for _round in range(args.rounds):
            started = time.monotonic()
            await canvas.scroll_into_view_if_needed()
            clear = page.get_by_role("button", name="Clear")
            if await clear.count():
                await clear.first.click()
                await wait_idle(page, timeout)
            box = await canvas.bounding_box()
            await stroke(page, box, [(0.25, 0.2), (0.75, 0.2)])  # a 7: the bar...
            await wait_idle(page, timeout)
            await stroke(page, box, [(0.75, 0.2), (0.45, 0.85)])  # ...and the leg
            await wait_idle(page, timeout)
            send = page.get_by_role("button", name="Send my digit")
            await send.wait_for(timeout=timeout)
            if await send.is_disabled():
                out["errors"].append(f"{who}: Send still disabled after two strokes")
                continue
            t0 = time.monotonic()
            await send.click()
            reading = page.get_by_text(ANSWERED).first
            error = page.locator("[data-testid='stAlertContentError']").first
            await reading.or_(error).wait_for(timeout=timeout)
            if await error.is_visible():
                out["errors"].append(f"{who}: {(await error.inner_text())[:200]}")
                await wait_idle(page, timeout)
                continue
            out["answer"].append(time.monotonic() - t0)
            yes = page.get_by_role("button", name="Yes, that's right")
            if await yes.count():
                await yes.click()
            else:  # "I don't know", or no Yes: say it was a 7 in the pills (or whatever is offered)
                pills = page.locator("[data-testid='stButtonGroup']").last.get_by_role("button")
                seven = pills.filter(has_text=re.compile(r"^\s*7\s*$"))
                await (seven.first if await seven.count() else pills.first).click()
            await page.get_by_text(THANKS).first.wait_for(timeout=timeout)
            await wait_idle(page, timeout)
            out["rounds"] += 1
            await asyncio.sleep(max(0.0, args.every - (time.monotonic() - started)))
        exceptions = page.locator("[data-testid='stException']")
        if await exceptions.count():
            out["errors"].append(f"{who}: {(await exceptions.first.inner_text())[:200]}")
    except Exception as exc:
        out["errors"].append(f"{who}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        if args.screenshots:
            Path(args.screenshots).mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(Path(args.screenshots) / f"browser-{n}.png"), full_page=True)
    finally:
        await context.close()


async def main_async(args: argparse.Namespace) -> dict:
    from browser import CHROMIUM
    from playwright.async_api import async_playwright

    with room_server() as (server, room_path):
        relays = [await relay(server.port, phone_address(n)) for n in range(args.browsers)]
        out = {"answer": [], "errors": [], "rounds": 0}
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM,
                                                  args=["--no-sandbox", "--disable-dev-shm-usage"])  # fmt: skip
                try:
                    # The first visitor loads TensorFlow and the model: not part of the measure.
                    warm = await browser.new_page()
                    await warm.goto(server.url + "/join", timeout=300_000)
                    await warm.locator("canvas").first.wait_for(timeout=300_000)
                    await warm.close()
                    cpu0, _, _ = server_usage(server.proc.pid)
                    t0 = time.monotonic()
                    await asyncio.gather(*(phone(browser, f"http://127.0.0.1:{port}", n, args, out)
                                           for n, (_relay, port) in enumerate(relays)))  # fmt: skip
                    elapsed = time.monotonic() - t0
                    cpu1, rss, peak = server_usage(server.proc.pid)
                finally:
                    await browser.close()
        finally:
            for r, _port in relays:
                r.close()
        submits = room_submits(room_path)
    return {
        "browsers": args.browsers,
        "rounds": args.rounds,
        "every_seconds": args.every,
        "seconds": round(elapsed, 1),
        "rounds_completed": out["rounds"],
        "send_to_answer_seconds": {
            "p50": percentile(out["answer"], 0.5),
            "p95": percentile(out["answer"], 0.95),
            "max": percentile(out["answer"], 1.0),
            "count": len(out["answer"]),
        },
        "errors": out["errors"][:20],
        "error_count": len(out["errors"]),
        "room_submissions": len(submits),
        "room_origins": len({e.get("origin") for e in submits if e.get("origin")}) or None,
        "server_cpu_cores": round((cpu1 - cpu0) / elapsed, 2),
        "server_rss_mb": round(rss / 1024),
        "server_peak_rss_mb": round(peak / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", type=int, default=5, help="phone-sized Chromium pages on Join")
    parser.add_argument("--rounds", type=int, default=3, help="digits each page draws, sends and answers")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between one page's digits (at least)")
    parser.add_argument("--screenshots", default="", help="a folder for a screenshot of each page that failed")
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
