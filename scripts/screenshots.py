"""Takes the README's screenshots again: ``python scripts/screenshots.py [--only NAME ...]``.

Starts the app itself (personal mode, then a second server in classroom mode for the shots about a class), drives
headless Chromium with Playwright, waits for what each picture's alt text describes, and writes the PNGs under
docs/ with the names README.md uses. Only the bundled photos and samples are used; nothing is downloaded. A fresh
cache folder per run, so a run does not depend on what an earlier one left. A maintainer's tool, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
PORTS = range(8600, 8650)
WIDTH, HEIGHT = 1400, 1000
LONG = 600_000  # ms: a real network on a busy 2-core CPU
QUEUED = 90_000  # ms: a place in the queue shows within a few polls, or the job ahead has already ended
FAILED = Path(tempfile.gettempdir()) / "transfer-lab-shots-failed"


# ---------------------------------------------------------------- the server and the browser


def free_port() -> int:
    """The first port of PORTS that nothing listens on."""
    for port in PORTS:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def wait_for_health(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Returns once Streamlit answers its health check; stops the script if the server died or never answered."""
    for _ in range(240):
        if proc.poll() is not None:
            raise SystemExit(f"the app stopped at start-up; its log ends with:\n{log_tail(log)}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return
        time.sleep(0.5)
    raise SystemExit(f"the app did not answer within 2 minutes; its log ends with:\n{log_tail(log)}")


def log_tail(log: Path, lines: int = 40) -> str:
    """The end of a server log (the log goes with the run's temporary folder)."""
    return "\n".join(log.read_text().splitlines()[-lines:])


@contextlib.contextmanager
def app_server(mode: str, work: Path):
    """``streamlit run app.py`` in ``mode`` (personal or classroom) on a free port of ours; yields its URL."""
    port, log = free_port(), work / f"server-{mode}.log"
    env = {**os.environ, "TRANSFER_LAB_MODE": mode, "TRANSFER_LAB_CACHE": str(work / "cache"),
           "TRANSFER_LAB_DATA_DIRS": str(ROOT / "assets" / "pets"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, proc, log)
            print(f"{mode} server on {url}")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if "Traceback" in log.read_text():
        print(f"the {mode} server logged a traceback; its log ends with:\n{log_tail(log)}")


def new_page(browser: Browser, url: str, path: str) -> Page:
    """A fresh learner (own browser context, so own session) on ``path`` of the app."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="en-US")
    page = context.new_page()
    page.goto(url + path)
    return page


def training_page(browser: Browser, url: str, lang: str) -> tuple[Page, Locator]:
    """A fresh learner on Transfer training in ``lang``, the page idle and its Train button ready; returns both."""
    page = new_page(browser, url, f"/transfer_training?lang={lang}")
    train = page.get_by_role("button", name="Train" if lang == "en" else "训练", exact=True)
    expect(train).to_be_enabled(timeout=LONG)
    settle(page)
    return page, train


def settle(page: Page, timeout: float = LONG) -> None:
    """Waits until the app's script is not running (as tests/conftest.py's wait_until_idle does)."""
    page.wait_for_timeout(500)  # let a rerun that an action just asked for begin
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)


def pick_option(page: Page, box: str, option: str | re.Pattern) -> None:
    """Chooses ``option`` in the selectbox labelled ``box``."""
    page.get_by_role("combobox", name=box).click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


# ---------------------------------------------------------------- taking the pictures

CONTENT_HEIGHT = """() => Math.max(document.scrollingElement.scrollHeight,
    ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
        .map(element => element.scrollHeight))"""


def grow_to_content(page: Page) -> None:
    """Makes the viewport as tall as the page (Streamlit scrolls an inner element, which ``full_page`` misses)."""
    for _ in range(3):  # a taller window can re-lay out the page (charts take the new size)
        height = page.evaluate(CONTENT_HEIGHT)
        if height == page.viewport_size["height"]:
            return
        page.set_viewport_size({"width": WIDTH, "height": height})
        page.wait_for_timeout(1000)


def shoot_screen(page: Page, name: str) -> None:
    """The first screen of the page, as a learner sees it on arrival."""
    away(page)
    page.screenshot(path=DOCS / name)
    report(name)


def away(page: Page) -> None:
    """Moves the mouse off the content, so no hover toolbar (image full screen, chart buttons) is drawn."""
    page.mouse.move(WIDTH - 5, 5)
    page.wait_for_timeout(300)


def shoot_page(page: Page, name: str, until: Locator | None = None) -> None:
    """The page from its top, down to ``until``'s bottom (or the whole page), sidebar included."""
    grow_to_content(page)
    bottom = page.evaluate(CONTENT_HEIGHT)
    if until is not None:
        box = until.bounding_box()
        bottom = min(bottom, int(box["y"] + box["height"] + 12))
    away(page)
    page.screenshot(path=DOCS / name, clip={"x": 0, "y": 0, "width": WIDTH, "height": bottom})
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    report(name)


SCROLL_TO = """(element, above) => {
  element.scrollIntoView({block: "start"});
  let box = element.parentElement;
  while (box && !["auto", "scroll"].includes(getComputedStyle(box).overflowY)) box = box.parentElement;
  (box || document.scrollingElement).scrollBy(0, -above);
}"""


def shoot_section(page: Page, name: str, start: Locator, height: int = HEIGHT, above: int = 40) -> None:
    """One screen of the page (sidebar included) whose top is ``above`` pixels over ``start``."""
    page.set_viewport_size({"width": WIDTH, "height": height})
    page.wait_for_timeout(500)
    start.evaluate(SCROLL_TO, above)
    away(page)
    page.screenshot(path=DOCS / name)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    report(name)


def shoot_between(page: Page, name: str, first: Locator, last: Locator, margin: int = 16) -> None:
    """Only the part of the main column from ``first``'s top to ``last``'s bottom, without the sidebar."""
    first.evaluate(SCROLL_TO, 2 * margin)
    away(page)
    top, bottom = first.bounding_box(), last.bounding_box()
    main = page.get_by_test_id("stMainBlockContainer").bounding_box()
    right = main["x"] + main["width"] - (top["x"] - main["x"])  # the column's padding is the same on both sides
    clip = {"x": top["x"] - margin, "y": top["y"] - margin, "width": right - top["x"] + 2 * margin,
            "height": bottom["y"] + bottom["height"] - top["y"] + 2 * margin}
    page.screenshot(path=DOCS / name, clip=clip)
    report(name)


def report(name: str) -> None:
    """Says what was written, and how big it is (the repository is cloned by CI)."""
    print(f"  docs/{name}: {(DOCS / name).stat().st_size / 1e3:.0f} kB")


# ---------------------------------------------------------------- personal mode: one learner per flow


def home(browser: Browser, url: str) -> None:
    """Home in English and in Chinese: the lab's path and Chelsea the cat's top 5, drawn as labelled bars."""
    for lang, name in (("en", "home.png"), ("zh", "home_zh.png")):
        page = new_page(browser, url, f"/?lang={lang}")
        bars = page.get_by_test_id("stProgress")
        expect(bars).to_have_count(5, timeout=LONG)
        expect(bars.first).to_contain_text("1. ")
        settle(page)
        shoot_page(page, name)
        page.context.close()


def feature_maps(browser: Browser, url: str) -> None:
    """Stage 3 of Chelsea the cat, one channel painted over the photo, and Grad-CAM of the top class."""
    page = new_page(browser, url, "/feature_maps?lang=en")
    stage = page.get_by_role("radio", name="stage 3 · 28×28×40")
    stage.click(timeout=LONG)
    expect(page.get_by_text("stage 3: 28×28 pixels × 40 channels")).to_be_visible(timeout=LONG)
    settle(page)
    page.get_by_text("Overlay on the photo", exact=True).click()
    expect(page.get_by_text(re.compile(r"^stage 3, channel \d+ over the photo"))).to_be_visible(timeout=LONG)
    expect(page.get_by_text(re.compile("^Grad-CAM for .*where the network looked"))).to_be_visible(timeout=LONG)
    settle(page)
    shoot_page(page, "feature_maps.png", until=page.get_by_text(re.compile("^Gradients of the class score")))
    page.context.close()


def train_dataset(browser: Browser, url: str) -> None:
    """Transfer training's first view, then a run on the bundled pets by breed: curves and confusion matrix."""
    page, train = training_page(browser, url, "en")
    shoot_screen(page, "transfer_training_first_view.png")
    pick_option(page, "Task (labels)", "by breed")
    train.click()
    expect(page.get_by_text("Confusion matrix", exact=False)).to_be_visible(timeout=LONG)
    expect(page.locator(".js-plotly-plot .heatmaplayer").first).to_be_attached(timeout=LONG)
    settle(page)
    shoot_section(page, "transfer_training.png", page.get_by_text("Augmented views", exact=True), above=60)
    page.context.close()


def train_zh(browser: Browser, url: str) -> None:
    """迁移学习训练 in Chinese after a run on the bundled pets (cat or dog): down to the curves."""
    page, train = training_page(browser, url, "zh")
    train.click()
    expect(page.get_by_text("验证准确率").first).to_be_visible(timeout=LONG)
    curves = page.locator(".js-plotly-plot").first
    expect(curves).to_contain_text("损失", timeout=LONG)
    settle(page)
    shoot_page(page, "transfer_training_zh.png", until=curves)
    page.context.close()


def adversarial(browser: Browser, url: str) -> None:
    """Adversarial dog on the bundled Leonberger: before, and after the attack in English and in Chinese."""
    page = new_page(browser, url, "/adversarial_dog?lang=en")
    expect(page.get_by_text("sees Leonberg")).to_be_visible(timeout=LONG)
    settle(page)
    shoot_screen(page, "adversarial_dog_first_view.png")
    attack(page, ("Run the attack", "The attack worked", "After: top 5", "JPEG re-compression"), "adversarial_dog.png")
    page = new_page(browser, url, "/adversarial_dog?lang=zh")
    expect(page.get_by_text("现在 EfficientNet-Lite0")).to_be_visible(timeout=LONG)
    settle(page)
    attack(page, ("运行攻击", "攻击成功", "攻击后：概率最高的 5 个类别", "JPEG 重新压缩"), "adversarial_dog_zh.png")


def attack(page: Page, texts: tuple[str, str, str, str], name: str) -> None:
    """Runs the attack, waits for the verdict, the top 5 after it and the survival table, and shoots them."""
    run, worked, after, survival = texts
    button = page.get_by_role("button", name=run)
    button.click()
    expect(page.get_by_text(worked)).to_be_visible(timeout=LONG)
    expect(page.locator(".js-plotly-plot").filter(has_text=after)).to_be_visible(timeout=LONG)
    expect(page.get_by_text(survival)).to_be_attached(timeout=LONG)  # a cell of the table's accessible copy
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    settle(page)
    shoot_section(page, name, button, height=1250)
    page.context.close()


def ideal_cat(browser: Browser, url: str) -> None:
    """Ideal cat, both recipes side by side (256 steps), each with the other networks' second opinion."""
    page = new_page(browser, url, "/ideal_cat?lang=en")
    expect(page.get_by_role("heading", name="🐱 Ideal cat")).to_be_visible(timeout=LONG)
    settle(page)
    page.get_by_text("Both, side by side", exact=True).click()
    settle(page)
    seed = page.get_by_role("spinbutton", name="Seed")
    seed.fill("3")  # seed 3 draws a Siamese face that the other networks call Siamese cat too
    seed.press("Enter")
    settle(page)
    page.get_by_role("button", name="Generate").click()
    tables = page.get_by_test_id("stTable")
    expect(tables).to_have_count(2, timeout=LONG)
    expect(tables.last).to_contain_text("EfficientNet-Lite2", timeout=LONG)
    expect(page.get_by_text("This session's gallery")).to_be_visible(timeout=LONG)
    settle(page)
    shoot_page(page, "ideal_cat.png", until=tables.last)
    page.context.close()


def own_classes(browser: Browser, url: str) -> None:
    """Your own classes from the bundled pets: the picker, Try it, fine-tuning and the download."""
    page = new_page(browser, url, "/transfer_training?lang=en")
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=LONG)
    settle(page)
    page.get_by_role("radio", name="Your own classes").click()
    settle(page)
    page.get_by_text("Pick photos from a dataset").click()
    add_picked(page, "Abyssinian", "class A")
    pick_option(page, "Class in the dataset", re.compile("^samoyed", re.IGNORECASE))
    add_picked(page, "samoyed", "class B")
    shoot_section(page, "transfer_training_pick.png", page.get_by_text("Photos of Abyssinian").first,
                  height=1560, above=100)
    page.get_by_role("button", name="Train", exact=True).click()
    try_heading = page.get_by_role("heading", name="Try it")
    expect(try_heading).to_be_visible(timeout=LONG)
    settle(page)
    try_it(page, try_heading)
    fine_tune(page)
    download(page)
    page.context.close()


def add_picked(page: Page, breed: str, target: str) -> None:
    """Adds the picker's photos of ``breed`` (the first eight, as it offers them) to the class ``target``."""
    expect(page.get_by_role("combobox", name="Class in the dataset")).to_have_value(
        re.compile(f"^{breed} ", re.IGNORECASE), timeout=LONG)
    expect(page.get_by_role("combobox", name="Add them to")).to_have_value(target)
    settle(page)
    page.get_by_role("button", name=re.compile(f"^Add \\d+ photos to {target}")).click()
    expect(page.get_by_text(re.compile(f"^Added \\d+ photos of {breed}", re.IGNORECASE))).to_be_visible(timeout=LONG)
    settle(page)


def try_it(page: Page, heading: Locator) -> None:
    """Try it on the Samoyed sample: the model's answer and the Grad-CAM of where it looked."""
    page.get_by_text("Sample photo", exact=True).last.click()
    settle(page)
    pick_option(page, "Sample", re.compile("^Samoyed"))
    expect(page.locator(".js-plotly-plot").filter(has_text="Your model").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("where the model looked for")).to_be_visible(timeout=LONG)
    settle(page)
    shoot_section(page, "transfer_training_own_classes.png", heading)


def fine_tune(page: Page) -> None:
    """Fine-tunes two blocks (the page's defaults) and shoots the estimate, both accuracies and the curves."""
    page.get_by_role("button", name="Fine-tune", exact=True).click()
    expect(page.get_by_text("After fine-tuning", exact=True)).to_be_visible(timeout=LONG)
    settle(page)
    heading = page.get_by_role("heading", name="Fine-tune (optional, slow on a CPU)")
    shoot_section(page, "transfer_training_fine_tune.png", heading)


def download(page: Page) -> None:
    """Prepares the zip and shoots the section: the download button and the notebook's three lines."""
    page.get_by_role("button", name="Prepare the download").click()
    expect(page.get_by_role("button", name="Download the model (zip)")).to_be_visible(timeout=LONG)
    settle(page)
    shoot_between(page, "transfer_training_download.png", page.get_by_role("heading", name="Take it with you"),
                  page.get_by_text("in the zip shows how"))


# ---------------------------------------------------------------- classroom mode: learners share one job slot


def queue(browser: Browser, url: str) -> None:
    """One learner's ideal cat runs (both recipes, so it runs long enough); a Chinese learner waits on Ideal cat,
    an English one on Adversarial dog; then the first learner's live image, progress and Stop."""
    first = new_page(browser, url, "/ideal_cat?lang=en")
    waiting_zh = new_page(browser, url, "/ideal_cat?lang=zh")
    waiting_en = new_page(browser, url, "/adversarial_dog?lang=en")
    expect(waiting_en.get_by_text("sees Leonberg")).to_be_visible(timeout=LONG)
    for page in (first, waiting_zh, waiting_en):
        settle(page)
    first.get_by_text("Both, side by side", exact=True).click()
    settle(first)
    first.get_by_role("button", name="Generate").click()
    expect(first.get_by_text(re.compile(r"is running: \d+%"))).to_be_visible(timeout=LONG)
    wait_in_line(waiting_zh, "生成", re.compile(r"前面还有 1 个任务，约 \d+"), "取消")
    shoot_page(waiting_zh, "screenshot-waiting.png")
    cancel(waiting_zh, "取消", "在开始前已取消")
    wait_in_line(waiting_en, "Run the attack", re.compile(r"1 job ahead of you, about \d+"), "Cancel")
    shoot_section(waiting_en, "adversarial_dog_waiting.png", waiting_en.get_by_role("heading", name="2. The attack"))
    cancel(waiting_en, "Cancel", "was cancelled before it started")
    expect(first.get_by_text(re.compile(r"^Recognisable · Siamese cat · step \d+/256"))).to_be_visible(timeout=QUEUED)
    shoot_page(first, "screenshot-running.png")
    first.get_by_role("button", name="Stop").click()
    expect(first.get_by_text("This session's gallery")).to_be_visible(timeout=LONG)


def wait_in_line(page: Page, button: str, place: re.Pattern, cancel_button: str) -> None:
    """Presses ``button`` while another learner's job runs, and waits for the place in the queue with its time."""
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text(place)).to_be_visible(timeout=QUEUED)
    expect(page.get_by_role("button", name=cancel_button)).to_be_visible()
    page.wait_for_timeout(1500)  # the fragment that polls the queue redraws once a second in classroom mode


def cancel(page: Page, button: str, said: str) -> None:
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text(said)).to_be_visible(timeout=LONG)
    page.context.close()


def ideal_own_class_zh(browser: Browser, url: str) -> None:
    """A Chinese learner trains on the bundled pets, then draws the ideal image of their own class 猫 (the
    classroom's cap on the steps shows under the sliders)."""
    page, train = training_page(browser, url, "zh")
    train.click()
    expect(page.get_by_text("验证准确率").first).to_be_visible(timeout=LONG)
    settle(page)
    page.get_by_role("link", name="理想的猫", exact=True).click()
    expect(page.get_by_role("heading", name="理想的猫")).to_be_visible(timeout=LONG)
    settle(page)
    page.get_by_text("你的类别：猫", exact=True).click()
    settle(page)
    page.get_by_role("button", name="生成", exact=True).click()
    expect(page.get_by_text(re.compile(r"随机种子 \d+ · [\d.]+ 秒"))).to_be_visible(timeout=LONG)
    expect(page.get_by_text("本次会话的作品集")).to_be_visible(timeout=LONG)
    settle(page)
    shoot_page(page, "ideal_cat_zh_own_class.png", until=page.get_by_test_id("stTable"))
    page.context.close()


def folder_chooser(browser: Browser, url: str) -> None:
    """In classroom mode a learner picks one of the teacher's shared folders from a list (no path to type)."""
    page = new_page(browser, url, "/transfer_training?lang=en")
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=LONG)
    settle(page)
    page.get_by_text("A folder of photos", exact=True).click()
    settle(page)
    page.get_by_role("combobox", name="Folder").click()
    expect(page.get_by_role("option").first).to_be_visible(timeout=LONG)
    page.wait_for_timeout(500)
    shoot_screen(page, "classroom_folder_chooser.png")
    page.context.close()


# ---------------------------------------------------------------- the run


PERSONAL = {f.__name__: f for f in (home, feature_maps, train_dataset, train_zh, adversarial, ideal_cat, own_classes)}
CLASSROOM = {f.__name__: f for f in (queue, ideal_own_class_zh, folder_chooser)}


def run_flows(browser: Browser, mode: str, flows: dict, only: set[str], work: Path) -> None:
    """Starts a server in ``mode`` if any of ``flows`` is wanted, and runs those flows on it."""
    wanted = [flow for name, flow in flows.items() if not only or name in only]
    if not wanted:
        return
    with app_server(mode, work) as url:
        for flow in wanted:
            print(f"{mode}: {flow.__name__}")
            try:
                flow(browser, url)
            except BaseException:  # a timeout, or Ctrl-C / SIGTERM on a flow that seems stuck
                save_open_pages(browser, flow.__name__)
                raise


def save_open_pages(browser: Browser, flow: str) -> None:
    """What each open page showed when ``flow`` failed, for whoever reads the traceback."""
    FAILED.mkdir(exist_ok=True)
    for n, context in enumerate(browser.contexts):
        for m, page in enumerate(context.pages):
            with contextlib.suppress(Exception):
                page.screenshot(path=FAILED / f"{flow}-{n}-{m}.png", full_page=True)
    print(f"{flow} failed; its open pages are in {FAILED}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=[], choices=[*PERSONAL, *CLASSROOM],
                        help="take only these groups of screenshots")
    only = set(parser.parse_args().only)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # so the servers are stopped too
    with tempfile.TemporaryDirectory(prefix="transfer-lab-shots-") as work, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        run_flows(browser, "personal", PERSONAL, only, Path(work))
        run_flows(browser, "classroom", CLASSROOM, only, Path(work))
        browser.close()


if __name__ == "__main__":
    main()
