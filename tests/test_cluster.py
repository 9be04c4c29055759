"""``deploy/cluster.sh`` against the real thing: redis-server, two workers, two Streamlit replicas in classroom
mode and nginx, all on loopback; sticky sessions through the proxy; ``stop`` ends exactly what ``start`` began."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port

pytestmark = pytest.mark.cluster


def cluster(command: str, env: dict, timeout: float = 400) -> str:
    done = subprocess.run(["bash", "deploy/cluster.sh", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def status(env: dict) -> dict[str, tuple[int, str]]:
    rows = [line.split() for line in cluster("status", env).splitlines()[1:]]
    return {role: (int(pid), state) for role, pid, state in rows}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A started cluster: (proxy URL, environment); stopped after the module's tests."""
    run_dir = tmp_path_factory.mktemp("cluster")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRANSFER_LAB_")},
           "TRANSFER_LAB_CLUSTER_DIR": str(run_dir), "TRANSFER_LAB_REDIS_PORT": str(_free_port()),
           "TRANSFER_LAB_PORT": str(_free_port()), "TRANSFER_LAB_FIRST_REPLICA_PORT": str(_free_port())}
    try:
        cluster("start", env)
        yield f"http://127.0.0.1:{env['TRANSFER_LAB_PORT']}", env
    finally:
        cluster("stop", env)


def replica_of(opener, url: str) -> str:
    with opener.open(url, timeout=20) as response:
        return response.headers["X-Transfer-Lab-Replica"]


def test_start_brings_up_every_role_and_status_names_them(lab):
    _, env = lab
    roles = status(env)
    assert set(roles) == {"redis", "worker-1", "worker-2", "replica-1", "replica-2", "nginx"}
    assert all(state == "running" for _, state in roles.values())


def test_browsers_spread_over_both_replicas_and_each_sticks_to_its_own(lab):
    url, _ = lab
    browsers = [urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar())) for _ in range(8)]
    first = [replica_of(b, url + "/") for b in browsers]
    assert len(set(first)) == 2, first  # eight random route cookies land on both replicas
    again = [replica_of(b, url + "/_stcore/health") for b in browsers]
    assert again == first  # each browser's later requests reach the replica that owns its session


def test_stop_ends_exactly_what_start_began(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRANSFER_LAB_")},
           "TRANSFER_LAB_CLUSTER_DIR": str(tmp_path), "TRANSFER_LAB_REDIS_PORT": str(_free_port()),
           "TRANSFER_LAB_PORT": str(_free_port()), "TRANSFER_LAB_FIRST_REPLICA_PORT": str(_free_port()),
           "TRANSFER_LAB_WORKERS": "1", "TRANSFER_LAB_REPLICAS": "1"}
    cluster("start", env)
    pids = [pid for pid, _ in status(env).values()]
    assert len(pids) == 4
    cluster("stop", env)
    assert not list(Path(tmp_path).glob("*.pid"))
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def learner_on(browser, url: str, avoid: set[str]):
    """A browser context whose route cookie landed on a replica not in ``avoid`` (new contexts until one does)."""
    for _ in range(20):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        landed = context.request.get(url + "/_stcore/health").headers.get("x-transfer-lab-replica")
        if landed not in avoid:
            return context, landed
        context.close()
    pytest.fail(f"twenty new browsers all landed on {avoid}")


@pytest.mark.browser
def test_learners_on_two_replicas_share_one_queue_and_all_get_their_images(lab, browser):
    from playwright.sync_api import expect

    from tests.conftest import wait_until_idle

    url, _ = lab
    learners, landed = [], set()
    for seed in (11, 12, 13):  # two workers, three jobs: one learner waits, whichever replica they are on
        context, replica = learner_on(browser, url, landed if len(landed) < 2 else set())
        landed.add(replica)
        page = context.new_page()
        page.goto(f"{url}/ideal_cat?lang=en", timeout=120_000)
        box = page.get_by_label("Seed", exact=True).first
        box.fill(str(seed))
        box.press("Enter")
        wait_until_idle(page, 120_000)
        learners.append(page)
    assert len(landed) == 2
    for page in learners:
        page.get_by_role("button", name="Generate", exact=True).click()
    # whichever job the queue got last waits (the replicas' clicks arrive in any order): someone reads a place
    deadline = time.monotonic() + 90
    while not any(p.get_by_text(re.compile(r"\bjobs? ahead of you")).count() for p in learners):
        assert time.monotonic() < deadline, "no learner read a place in the queue"
        learners[0].wait_for_timeout(250)
    for page in learners:
        expect(page.get_by_text("This session's gallery").first).to_be_visible(timeout=300_000)
        page.context.close()
