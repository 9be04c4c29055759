"""Classroom benchmark: N learners (browser contexts) start a heavy job each against one classroom server.

Run from the project root: ``python bench/bench_classroom.py [--learners 6] [--waves 2] [--steps 96]``
(a smoke run: ``--learners 2 --steps 16``).
Each learner opens Ideal cat and presses Generate at the same moment. Prints per job: seconds until it
started running (wait) and until its result showed (run); Home's time to the top-5 chart while the jobs
are queued or running (goal: under 5 s); the server's RSS after each wave has left (goal: wave 2 at most
1.15 x wave 1); and any traceback in the server log. The server forgets a closed tab's session after
``--server.disconnectedSessionTTL`` (set to 10 s here; Streamlit's default is 120 s), so ``--settle`` must be
longer than that for the memory after a wave to count only what outlives the learners.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SESSION_TTL_S = 10


def start_server(port: int, steps: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(TRANSFER_LAB_MODE="classroom", TRANSFER_LAB_STEP_CAP=str(steps))
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--server.disconnectedSessionTTL", str(SESSION_TTL_S)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not start within 2 minutes")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def learner(browser, url: str, name: str, seed: int, start: asyncio.Event, results: list) -> None:
    """Opens Ideal cat, sets its own seed (the server reuses a finished run with the same settings), waits for
    the common start, presses Generate and times wait and run."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{url}/ideal_cat?lang=en", timeout=300_000)
    await page.get_by_role("button", name="Generate").wait_for(timeout=180_000)
    seed_box = page.get_by_label("Seed")
    await seed_box.fill(str(seed))
    await seed_box.press("Enter")
    await page.wait_for_timeout(2000)  # the rerun that takes the seed
    await start.wait()
    clicked = time.perf_counter()
    await page.get_by_role("button", name="Generate").click()
    await page.get_by_text(re.compile("is running|is waiting")).first.wait_for(timeout=120_000)
    place = await page.get_by_text("ahead of you").all_text_contents()  # empty when it started at once
    await page.get_by_text("is running").wait_for(timeout=900_000)
    running = time.perf_counter()
    await page.get_by_text("This session's gallery").wait_for(timeout=900_000)
    results.append((name, running - clicked, time.perf_counter() - running, (place or [""])[0].strip()[:60]))
    await context.close()


async def home_latency(browser, url: str) -> float:
    """Seconds from opening Home to its top-5 chart of the sample photo."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    started = time.perf_counter()
    await page.goto(f"{url}/?lang=en", timeout=300_000)
    await page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=300_000)  # the top-5 chart
    seconds = time.perf_counter() - started
    await context.close()
    return seconds


async def wave(browser, url: str, learners: int, wave_number: int) -> tuple[list, float]:
    start, results = asyncio.Event(), []
    tasks = [asyncio.create_task(learner(browser, url, f"w{wave_number}-{i}", 100 * wave_number + i, start, results))
             for i in range(learners)]
    await asyncio.sleep(20)  # every learner has the page open
    start.set()
    await asyncio.sleep(3)  # the jobs are queued or running
    home = await home_latency(browser, url)
    for failure in [r for r in await asyncio.gather(*tasks, return_exceptions=True) if r is not None]:
        print(f"a learner failed: {failure!r:.200}")
    return results, home


async def main(args) -> None:
    from playwright.async_api import async_playwright

    port, log = free_port(), Path(args.log)
    server = start_server(port, args.steps, log)
    url = f"http://127.0.0.1:{port}"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            idle = await home_latency(browser, url)  # loads TensorFlow and the default backbone
            print(f"warm server: {rss_mb(server.pid):.0f} MB RSS; Home top-5 with no load {idle:.1f} s")
            after = []
            for w in range(1, args.waves + 1):
                results, home = await wave(browser, url, args.learners, w)
                await asyncio.sleep(args.settle)  # sessions close and free their state
                after.append(rss_mb(server.pid))
                print(f"\nwave {w}: Home top-5 under load {home:.1f} s (goal < 5 s); RSS after {after[-1]:.0f} MB")
                print(f"{'learner':<8} {'wait s':>7} {'run s':>7}  first words a waiting learner read")
                for name, waited, ran, place in sorted(results):
                    print(f"{name:<8} {waited:7.1f} {ran:7.1f}  {place}")
            await browser.close()
        if len(after) > 1:
            print(f"\nRSS wave {len(after)} / wave 1: {after[-1] / after[0]:.2f} (goal <= 1.15)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    tracebacks = log.read_text().count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=6)
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--steps", type=int, default=96, help="TRANSFER_LAB_STEP_CAP for the server")
    parser.add_argument("--settle", type=float, default=30.0,
                        help=f"seconds after a wave before measuring RSS (more than the {SESSION_TTL_S} s session TTL)")
    parser.add_argument("--log", default="/tmp/bench_classroom_server.log")
    asyncio.run(main(parser.parse_args()))
