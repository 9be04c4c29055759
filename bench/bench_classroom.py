"""Classroom benchmark: the page against the command line, a class's wave against its jobs back to back, Home
under load, and (``--crowd N``) many learners reading pages while a few run heavy jobs.

Run from the project root: ``python bench/bench_classroom.py [--mode classroom] [--steps 256] [--crowd 30]``
(a smoke run: ``--steps 16 --crowd 4 --crowd-seconds 30``). One run prints, on one server:

1. each job kind alone in the page (ideal cat, attack, training on the bundled pets: press to result shown) and
   the same settings through ``python -m core`` (wall time, start-up included);
2. a mixed wave (each kind twice, six learners pressing at once): its makespan against the serial sum (the
   alone times of the same six jobs, caches as warm as in the wave), and Home's top-5 under it in a new tab of
   the late learner's own Chromium (the six learners' tabs run in a second Chromium under ``nice``: in a class
   their browsers are on their own laptops; ``--others-nice 0`` puts them at the same level);
3. the crowd (``--crowd N``, bounded by ``--crowd-seconds``): N sessions open, ``--crowd-heavy`` of them pressing
   Generate again and again in Chromium, ``--crowd-browsers`` moving between pages in Chromium, the others moving
   between pages over Streamlit's websocket protocol (SocketLearner: thirty Chromium tabs on a 2-core machine
   would measure Chromium, not the server): median, 90th percentile and slowest page change, and the server's
   CPU spent outside the jobs' and TensorFlow's compute threads (pages, websockets, polls, encoding), as a share.

Targets (issue 19): ideal cat page <= 1.3 x CLI; wave <= 1.25 x serial sum; Home < 5 s under the wave; a page
change < 2 s with 30 sessions and one heavy job. The machine's load average is printed: compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SESSION_TTL_S = 10
CHELSEA = ROOT / "assets" / "samples"
PAGES = ("", "feature_maps", "transfer_training", "ideal_cat", "adversarial_dog")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict, log: Path) -> subprocess.Popen:
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


def cli_seconds(env: dict, *args: str) -> float:
    """Wall time of one ``python -m core`` command, start-up included."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def cli_times(env: dict, steps: int, out: Path) -> dict:
    sample = next(p for p in sorted(CHELSEA.iterdir()) if "leonberg" in p.name.lower())
    return {
        "ideal": cli_seconds(env, "ideal", "--class", "284", "--steps", str(steps), "--size", "224", "--seed", "0",
                             "--out", str(out / "ideal.png")),
        "attack": cli_seconds(env, "attack", str(sample), "--target", "281,282,283,284,285", "--out",
                              str(out / "attack")),
        "training": cli_seconds(env, "train", "--data", "bundled", "--task", "species", "--out",
                                str(out / "model.keras")),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class ThreadCpu:
    """CPU seconds of a process split by thread name: the jobs (core.jobs names their threads ``job-<kind>``)
    and TensorFlow's compute pools against everything else."""

    def __init__(self, pid: int):
        self.pid, self.tick = pid, os.sysconf("SC_CLK_TCK")

    def sample(self) -> dict[str, float]:
        totals = {"tf": 0.0, "other": 0.0}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1: stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            seconds = (int(fields[11]) + int(fields[12])) / self.tick
            totals["tf" if name.startswith(("tf_", "job-")) else "other"] += seconds
        return totals


def niced_chromium(level: int, folder: Path) -> str:
    """Chromium under ``nice -n level``, for the wave's other learners: in a class their browsers run on their own
    laptops, not on the server nor on the late learner's, so on this one machine their rendering (six tabs
    redrawing live images and curves: 23 of the wave's 60 CPU-seconds) yields to the server and the late tab.
    ``--others-nice 0`` measures everything at one priority, as before."""
    wrapper = folder / "chromium-niced"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {level} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


async def open_page(browser, url: str, path: str):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{url}/{path}?lang=en", timeout=300_000)
    await idle(page)
    return page


async def idle(page, timeout: float = 600_000) -> None:
    await page.wait_for_timeout(300)
    await page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=timeout)


JOBS = {  # kind: (page, button, what shows when the result is on the page)
    "ideal": ("ideal_cat", "Generate", "This session's gallery"),
    "attack": ("adversarial_dog", "Run the attack", "3. Before and after"),
    "training": ("transfer_training", "Train", "Runs in this session"),
}


async def prepared(browser, url: str, kind: str, seed: int):
    """A learner with the job's page open and settings set (ideal cat: its own seed, so no cached image)."""
    page = await open_page(browser, url, JOBS[kind][0])
    await page.get_by_role("button", name=JOBS[kind][1]).wait_for(timeout=300_000)
    if kind == "ideal":
        box = page.get_by_label("Seed", exact=True).first
        await box.fill(str(seed))
        await box.press("Enter")
        await idle(page)
    return page


async def press_and_time(page, kind: str) -> float:
    """Seconds from pressing the job's button to its result on the page."""
    started = time.perf_counter()
    await page.get_by_role("button", name=JOBS[kind][1], exact=True).click()
    await page.get_by_text(JOBS[kind][2]).first.wait_for(timeout=1_800_000)
    await idle(page)
    return time.perf_counter() - started


async def alone(browser, url: str, kind: str, seed: int) -> float:
    page = await prepared(browser, url, kind, seed)
    seconds = await press_and_time(page, kind)
    await page.context.close()
    return seconds


async def home_latency(browser, url: str) -> float:
    """Seconds from opening Home to its top-5 chart of the sample photo."""
    started = time.perf_counter()
    page = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
    await page.goto(f"{url}/?lang=en", timeout=300_000)
    await page.locator('[data-testid="stProgress"]').first.wait_for(timeout=300_000)
    seconds = time.perf_counter() - started
    await page.context.close()
    return seconds


async def wave(browser, others, url: str, kinds: list[str]) -> tuple[float, list, float]:
    """Every learner presses at once (their tabs in ``others``); returns the makespan, each job's time and Home's
    top-5 under the wave in a new tab of ``browser`` (the late learner's own)."""
    pages = await asyncio.gather(*(prepared(others, url, k, 100 + i) for i, k in enumerate(kinds)))
    started = time.perf_counter()
    timed = asyncio.gather(*(press_and_time(p, k) for p, k in zip(pages, kinds)))
    await asyncio.sleep(3)
    from playwright.async_api import TimeoutError as NotInTime

    try:
        shown = await home_latency(browser, url)
    except NotInTime:  # the top-5 never came within the 300 s allowed
        shown = float("inf")
    home = (shown, *await home_at_server(url))
    each = await timed
    makespan = time.perf_counter() - started
    for page in pages:
        await page.context.close()
    return makespan, each, home


class SocketLearner:
    """A session that speaks Streamlit's protocol over /_stcore/stream, as the frontend does, without a browser:
    it asks for a page (a ``rerun_script`` BackMsg naming it) and times the server's answer up to its
    ``script_finished``. On a 2-core machine thirty Chromium tabs measure Chromium; these measure the server."""

    def __init__(self, url: str):
        self.url = url.replace("http", "ws", 1) + "/_stcore/stream"

    async def __aenter__(self):
        import websockets

        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                               open_timeout=120, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    async def open(self, page: str, timeout: float = 300) -> float:
        """Seconds from asking for the page to the end of its script run."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = "lang=en"
        message.rerun_script.page_name = page
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        while True:
            reply = ForwardMsg()
            reply.ParseFromString(await asyncio.wait_for(self.socket.recv(), timeout))
            if reply.WhichOneof("type") == "script_finished" and reply.script_finished in (
                    ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
                return time.perf_counter() - started


async def socket_reader(url: str, until: float, loads: list) -> None:
    """A learner moving from page to page every two seconds, timed at the server (a SocketLearner)."""
    async with SocketLearner(url) as learner:
        await learner.open("")
        step = 0
        while time.perf_counter() < until:
            step += 1
            page = PAGES[step % len(PAGES)]
            loads.append((await learner.open(page), page or "home"))
            await asyncio.sleep(2)


async def home_at_server(url: str) -> tuple[float, float]:
    """Seconds for the server to send a new tab's files (the page and its scripts and styles) and to run Home
    (its top-5 included) for a new session: the server's part of Home's time in a browser."""
    files = await asyncio.to_thread(static_seconds, url)
    async with SocketLearner(url) as learner:
        return files, await learner.open("")


def static_seconds(url: str) -> float:
    """Seconds to fetch the app's index.html and every script and stylesheet it names, one after another."""
    import re

    started = time.perf_counter()
    index = urllib.request.urlopen(f"{url}/", timeout=300).read().decode()
    for asset in re.findall(r'(?:src|href)="\.?/?(static/[^"]+)"', index):
        urllib.request.urlopen(f"{url}/{asset}", timeout=300).read()
    return time.perf_counter() - started


async def reader(browser, url: str, until: float, loads: list) -> None:
    """One learner moving from page to page (sidebar links), timing each change until the page is idle."""
    page = await open_page(browser, url, "")
    step = 0
    while time.perf_counter() < until:
        step += 1
        target = PAGES[step % len(PAGES)]
        started = time.perf_counter()
        await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{target}"]').first.click()
        await page.locator("h1").first.wait_for(timeout=120_000)
        await idle(page, 120_000)
        loads.append(time.perf_counter() - started)
        await page.wait_for_timeout(2000)
    await page.context.close()


async def presser(browser, url: str, until: float, seed: int, ran: list) -> None:
    """One learner pressing Generate on Ideal cat again and again (a new seed each time) while time remains."""
    import re

    page = await prepared(browser, url, "ideal", seed)
    active = page.get_by_text(re.compile("is running|is waiting")).first
    while time.perf_counter() < until:
        started = time.perf_counter()
        await page.get_by_role("button", name="Generate", exact=True).click()
        await active.wait_for(timeout=600_000)  # the gallery is already there: wait for this job's own end
        await active.wait_for(state="detached", timeout=1_800_000)
        await idle(page)
        ran.append(time.perf_counter() - started)
        seed += 1
        box = page.get_by_label("Seed", exact=True).first
        await box.fill(str(seed))
        await box.press("Enter")
        await idle(page)
    await page.context.close()


async def crowd(browser, url: str, pid: int, learners: int, heavy: int, browsers: int, seconds: float) -> dict:
    """``heavy`` learners pressing Generate in Chromium, ``browsers`` reading pages in Chromium, the rest reading
    pages as SocketLearners; every page change is timed."""
    until, loads, shown, ran = time.perf_counter() + seconds, [], [], []
    cpu = ThreadCpu(pid)
    before = cpu.sample()
    tasks = [presser(browser, url, until, 1000 + 50 * i, ran) for i in range(heavy)]
    tasks += [reader(browser, url, until, shown) for _ in range(browsers)]
    tasks += [socket_reader(url, until, loads) for _ in range(learners - heavy - browsers)]
    for failure in [r for r in await asyncio.gather(*tasks, return_exceptions=True) if r is not None]:
        print(f"a crowd learner failed: {failure!r:.200}")
    after = cpu.sample()
    tf, other = after["tf"] - before["tf"], after["other"] - before["other"]
    return {"server": spread(loads), "browser": spread(shown), "jobs": len(ran),
            "outside_share": other / max(tf + other, 1e-9), "cpu_s": tf + other, "seconds": seconds}


def spread(times: list) -> str:
    """'n changes, median 0.4 s, 90th percentile 0.9 s, slowest 1.2 s (ideal_cat)' from seconds or
    (seconds, page) pairs."""
    if not times:
        return "no page changes"
    times = sorted(t if isinstance(t, tuple) else (t, "") for t in times)
    where = f" ({times[-1][1]})" if times[-1][1] else ""
    return (f"{len(times)} changes, median {times[len(times) // 2][0]:.1f} s, 90th percentile "
            f"{times[int(len(times) * 0.9)][0]:.1f} s, slowest {times[-1][0]:.1f} s{where}")


def report_alone(cli: dict, page: dict, cold_training: float) -> None:
    print(f"\n{'job':<10} {'page s':>8} {'CLI s':>8} {'page/CLI':>9}")
    for kind in JOBS:
        print(f"{kind:<10} {page[kind]:8.1f} {cli[kind]:8.1f} {page[kind] / cli[kind]:9.2f}")
    print(f"(each after a warm-up run of its kind, as in the wave; the warm-up training, embeddings not cached: "
          f"{cold_training:.1f} s)")


def report_crowd(args, figures: dict) -> None:
    sockets = args.crowd - args.crowd_heavy - args.crowd_browsers
    print(f"\ncrowd of {args.crowd} sessions for {figures['seconds']:.0f} s: {args.crowd_heavy} pressing Generate "
          f"({figures['jobs']} images made), {args.crowd_browsers} reading pages in Chromium, {sockets} reading pages "
          "over the websocket (goal: a page change < 2 s)")
    print(f"  page change at the server: {figures['server']}")
    print(f"  page change in Chromium:   {figures['browser']}")
    print(f"  server CPU {figures['cpu_s']:.0f} s, {figures['outside_share']:.0%} of it outside the jobs' threads and "
          "TensorFlow's compute threads (pages, polls, websockets, encoding)")


async def main(args) -> None:
    from playwright.async_api import async_playwright

    cache = Path(tempfile.mkdtemp(prefix="bench-classroom-"))
    env = dict(os.environ)
    env.update(TRANSFER_LAB_MODE=args.mode, TRANSFER_LAB_STEP_CAP=str(args.steps), TRANSFER_LAB_CACHE=str(cache))
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores; mode {args.mode}, "
          f"{args.steps} ideal steps")
    cli = cli_times(env, args.steps, cache)
    port, log = args.port or free_port(), Path(args.log)
    server = start_server(port, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            others = await playwright.chromium.launch(executable_path=niced_chromium(args.others_nice, cache),
                                                      args=["--no-sandbox"])
            print(f"Home top-5, first load (TensorFlow and the backbone): {await home_latency(browser, url):.1f} s")
            # warm-up, one of each: the embedding cache, and the second opinion's other backbones loaded once
            cold = {kind: await alone(browser, url, kind, 0) for kind in JOBS}["training"]
            page = {kind: await alone(browser, url, kind, 1) for kind in JOBS}
            report_alone(cli, page, cold)
            rss_before = rss_mb(server.pid)
            kinds = [k for k in JOBS for _ in range(2)]
            serial = sum(page[k] for k in kinds)
            makespan, each, home = await wave(browser, others, url, kinds)
            print(f"\nwave of {len(kinds)} ({', '.join(kinds)}): makespan {makespan:.1f} s, serial sum {serial:.1f} s, "
                  f"ratio {makespan / serial:.2f} (goal <= 1.25); each: " + ", ".join(f"{s:.0f}" for s in each))
            print(f"Home under the wave (goal < 5 s), the other learners' browsers at nice {args.others_nice}: top-5 "
                  f"shown in a new browser tab {home[0]:.1f} s; at the server, "
                  f"the tab's files {home[1]:.1f} s and Home's run {home[2]:.1f} s; load average "
                  f"{os.getloadavg()[0]:.1f}")
            await asyncio.sleep(SESSION_TTL_S + 15)  # the wave's sessions end and free their state
            print(f"server RSS before the wave {rss_before:.0f} MB, after it has left {rss_mb(server.pid):.0f} MB")
            if args.crowd:
                report_crowd(args, await crowd(browser, url, server.pid, args.crowd, args.crowd_heavy,
                                               args.crowd_browsers, args.crowd_seconds))
            await others.close()
            await browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average at end: {os.getloadavg()[0]:.1f}; tracebacks in the server log: "
          f"{log.read_text().count('Traceback')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("classroom", "personal"), default="classroom")
    parser.add_argument("--steps", type=int, default=256, help="ideal-cat steps (TRANSFER_LAB_STEP_CAP)")
    parser.add_argument("--crowd", type=int, default=0, help="sessions in the crowd phase (0: skip it)")
    parser.add_argument("--crowd-heavy", type=int, default=1, help="of them, learners pressing Generate")
    parser.add_argument("--crowd-browsers", type=int, default=3, help="of them, learners reading pages in Chromium")
    parser.add_argument("--crowd-seconds", type=float, default=120.0)
    parser.add_argument("--others-nice", type=int, default=10,
                        help="nice level of the wave's other learners' Chromium (0: the late learner's level)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", default="/tmp/bench_classroom_server.log")
    asyncio.run(main(parser.parse_args()))
