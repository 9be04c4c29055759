"""First-run benchmark: from ``streamlit run app.py`` to Home's first prediction, seen in headless Chromium.

Run from the project root: ``python bench/bench_first_run.py [--runs N]``. Each run starts a fresh
Streamlit process with a fresh, empty ``TRANSFER_LAB_CACHE`` and opens Home in a new browser, as a
learner's first visit; it prints the seconds until the server answers, until Home's title is drawn,
and until the top-5 chart of the bundled sample photo is visible (target: under 30 s on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Polls Streamlit's health endpoint until it answers (or the process dies)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"no answer from {url} in {timeout:.0f} s")


def one_run(cache: Path) -> dict[str, float]:
    """Starts the app and a browser; returns the seconds from the start to each milestone."""
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRANSFER_LAB_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--browser.gatherUsageStats", "false"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for_server(url, proc)
        times = {"server answers": time.perf_counter() - started}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            expect(page.get_by_role("heading", name="Transfer Lab")).to_be_visible(timeout=120_000)
            times["Home drawn"] = time.perf_counter() - started
            chart = page.locator(".js-plotly-plot").filter(has_text="Top 5 ImageNet classes").first
            expect(chart).to_be_visible(timeout=180_000)
            times["first prediction"] = time.perf_counter() - started
            browser.close()
        return times
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="fresh starts to time (each with an empty cache)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU cores; target: first prediction under {TARGET_S:.0f} s")
    worst = 0.0
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="transfer-lab-first-run-") as cache:
            times = one_run(Path(cache))
        worst = max(worst, times["first prediction"])
        print(f"run {number}: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in times.items()))
    print(f"slowest first prediction: {worst:.1f} s ({'meets' if worst < TARGET_S else 'misses'} the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
