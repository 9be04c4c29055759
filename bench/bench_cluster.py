"""Transfer Lab through nginx, two replicas and RQ workers (deploy/cluster.sh), against one process.

    python bench/bench_cluster.py [--learners 8] [--steps 64] [--workers 2] [--replicas 2] [--no-kill]

1. Per-job overhead of the Redis path: the same IdealJob spec, run (after a warm-up) by the in-process
   scheduler and by a worker through Redis, from submit to the last record (goal: at most 0.5 s or 10%).
2. N learners in Chromium through the proxy, each pressing Generate on Ideal cat at once (own seeds): the
   replica each landed on (X-Transfer-Lab-Replica), the words a waiting learner read, wait and run times.
3. The same wave again, with one worker killed (SIGKILL) while it runs a job: what each learner read, and
   whether every image arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_classroom import CHROMIUM, free_port, idle, open_page  # noqa: E402


def cluster(command: str, env: dict) -> str:
    done = subprocess.run(["bash", "deploy/cluster.sh", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return done.stdout


def redis_url(env: dict) -> str:
    password = (Path(env["TRANSFER_LAB_CLUSTER_DIR"]) / "redis.pass").read_text()
    return f"redis://:{password}@127.0.0.1:{env['TRANSFER_LAB_REDIS_PORT']}/0"


def ideal_config(steps: int, seed: int):
    from core.visualise.optimise import IdealConfig

    return IdealConfig(classes=(284,), steps=steps, seed=seed)  # 284: Siamese cat, as on the page


def ideal_spec(steps: int, seed: int):
    from core.work.specs import IdealJob

    return IdealJob("efficientnet_lite0", (ideal_config(steps, seed),))


def submit_to_last(scheduler, spec, owner: str) -> float:
    """Seconds from submitting ``spec`` to its job's end (polled every 20 ms, as a page would, more often)."""
    started = time.perf_counter()
    job = scheduler.submit_spec(owner, spec, "bench")
    while not job.finished:
        time.sleep(0.02)
    if job.state != "done":
        raise SystemExit(f"the bench job ended {job.state}: {job.error!r}")
    return time.perf_counter() - started


def overhead(env: dict, steps: int, workers: int) -> tuple[float, float]:
    """(in-process seconds, Redis seconds) for the same spec, after warm-up runs: one in this process, and one
    per worker at once (each worker builds its own networks; a cold one would time the build, not the queue)."""
    from core.cluster import connect
    from core.cluster.queue import RedisScheduler
    from core.jobs import Scheduler

    local, remote = Scheduler(slots=1), RedisScheduler(connect(redis_url(env)))
    submit_to_last(local, ideal_spec(steps, 1), "bench-warm-local")
    warm = [remote.submit_spec(f"bench-warm-{i}", ideal_spec(steps, 10 + i), "warm") for i in range(workers)]
    while not all(job.finished for job in warm):
        time.sleep(0.1)
    best_local = min(submit_to_last(local, ideal_spec(steps, 2 + i), "bench-local") for i in range(3))
    best_remote = min(submit_to_last(remote, ideal_spec(steps, 5 + i), "bench-redis") for i in range(3))
    return best_local, best_remote


async def learner(browser, url: str, seed: int, steps: int, seen: dict) -> dict:
    """Opens Ideal cat through the proxy, sets its seed and steps, presses Generate; returns what happened."""
    page = await open_page(browser, url, "ideal_cat")
    replica = (await page.request.get(f"{url}/_stcore/health")).headers.get("x-transfer-lab-replica", "?")
    box = page.get_by_label("Seed", exact=True).first  # the steps: the teacher's cap (TRANSFER_LAB_STEP_CAP)
    await box.fill(str(seed))
    await box.press("Enter")
    await idle(page)
    started, words, running_at = time.perf_counter(), set(), None
    await page.get_by_role("button", name="Generate", exact=True).click()
    done = page.get_by_text("This session's gallery").first
    while not await done.is_visible():
        for alert in await page.locator('[data-testid="stAlert"]').all_inner_texts():
            words.add(" ".join(alert.split())[:120])
        if running_at is None and await page.get_by_role("button", name="Stop").count():
            running_at = time.perf_counter()
        if time.perf_counter() - started > 900:
            break
        await page.wait_for_timeout(250)
    end = time.perf_counter()
    await page.context.close()
    wait = (running_at or end) - started
    return {"replica": replica, "wait": wait, "run": end - (running_at or started), "total": end - started,
            "image": end - started <= 900, "words": sorted(words)}


async def wave(url: str, learners: int, steps: int, kill=None) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        tasks = [learner(browser, url, 500 + i, steps, {}) for i in range(learners)]
        if kill is not None:
            tasks.append(kill())
        results = await asyncio.gather(*tasks)
        await browser.close()
    return [r for r in results if isinstance(r, dict)]


def killer(env: dict):
    """Kills worker-1 (SIGKILL) once both workers are running a learner's job, so it dies mid-job."""
    async def kill():
        from rq import Queue
        from rq.registry import StartedJobRegistry

        from core.cluster import QUEUE_NAME, connect

        registry = StartedJobRegistry(queue=Queue(QUEUE_NAME, connection=connect(redis_url(env))))
        for _ in range(1200):
            if registry.count >= 2:
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)
        pid = int((Path(env["TRANSFER_LAB_CLUSTER_DIR"]) / "worker-1.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        print(f"killed worker-1 (pid {pid}) while {registry.count} jobs were running")
    return kill


def report(title: str, rows: list[dict]) -> None:
    print(f"\n{title}\n| learner | replica | wait (s) | run (s) | image | what they read |\n|---|---|---|---|---|---|")
    for i, row in enumerate(rows, 1):
        words = "; ".join(w for w in row["words"] if "jobs ahead" in w or "job ahead" in w or "stopped" in w)[:200]
        print(f"| {i} | {row['replica']} | {row['wait']:.1f} | {row['run']:.1f} | {'yes' if row['image'] else 'NO'}"
              f" | {words} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=8)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRANSFER_LAB_")},
           "TRANSFER_LAB_CLUSTER_DIR": tempfile.mkdtemp(prefix="bench-cluster-"),
           "TRANSFER_LAB_REDIS_PORT": str(free_port()), "TRANSFER_LAB_PORT": str(free_port()),
           "TRANSFER_LAB_FIRST_REPLICA_PORT": str(free_port()), "TRANSFER_LAB_WORKERS": str(args.workers),
           "TRANSFER_LAB_REPLICAS": str(args.replicas), "TRANSFER_LAB_STEP_CAP": str(args.steps)}
    url = f"http://127.0.0.1:{env['TRANSFER_LAB_PORT']}"
    cluster("start", env)
    try:
        local, remote = overhead(env, args.steps, args.workers)
        print(f"one {args.steps}-step ideal image (best of 3): in-process {local:.2f} s, through Redis and a worker "
              f"{remote:.2f} s: overhead {remote - local:+.2f} s ({remote / local - 1:+.0%}; goal <= 0.5 s or 10%)")
        report(f"{args.learners} learners through the proxy, Generate at once", asyncio.run(
            wave(url, args.learners, args.steps)))
        if not args.no_kill:
            report("the same wave, worker-1 killed mid-job", asyncio.run(
                wave(url, args.learners, args.steps, killer(env))))
    finally:
        cluster("stop", env)


if __name__ == "__main__":
    main()
