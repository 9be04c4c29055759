"""Shared fixtures: paths to the shared photos, tiny mock models, and a running app for browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# TensorFlow reads its log level once, when it is imported just below: too early for monkeypatch, and no test
# depends on it (it only quiets the C++ start-up lines).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
CHROMIUM = "/usr/bin/chromium"


NO_CHROMIUM = f"Chromium not found at {CHROMIUM}: run bash scripts/test.sh, which installs it with apt"


def pytest_collection_finish(session):
    """Stops before running anything, with one line, when browser tests are selected and Chromium is missing."""
    if not Path(CHROMIUM).exists() and any(item.get_closest_marker("browser") for item in session.items):
        pytest.exit(NO_CHROMIUM, returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared test photos (../shared/data); never copied into the project."""
    assert SHARED.is_dir(), f"shared test photos not found at {SHARED}"
    return SHARED


@pytest.fixture
def pets_folder(shared_data, tmp_path) -> Path:
    """Six Bengal cats and six beagles in class folders (a copy: a test may add or break photos)."""
    root = tmp_path / "pets"
    for name, pattern in (("cat", "cat/Bengal_*.jpg"), ("dog", "dog/beagle_*.jpg")):
        (root / name).mkdir(parents=True)
        for photo in sorted((shared_data / "pets-mini").glob(pattern))[:6]:
            shutil.copy(photo, root / name)
    return root


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Keeps each test session's caches (converted weights, embeddings) out of the user's cache."""
    with pytest.MonkeyPatch.context() as session_patch:
        if "TRANSFER_LAB_CACHE" not in os.environ:
            session_patch.setenv("TRANSFER_LAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def personal_mode(monkeypatch):
    """Tests run the app in personal mode unless they ask for the classroom (``classroom`` fixture)."""
    monkeypatch.setenv("TRANSFER_LAB_MODE", "personal")


REAL_NETWORK = "this test builds a real pretrained network: mark it real_backbone"


@pytest.fixture(autouse=True)
def no_real_network_unless_marked(request, monkeypatch):
    """Keeps the fast tier honest: only ``real_backbone`` (or ``browser``) tests may build a pretrained network.

    The pages catch and show errors, so a refused build is also remembered and fails the test at teardown.
    """
    if request.node.get_closest_marker("real_backbone") or request.node.get_closest_marker("browser"):
        yield
        return
    if "lite0" in request.fixturenames:
        pytest.fail(f"{REAL_NETWORK} (it uses the lite0 fixture)", pytrace=False)
    from core.models import backbones

    refused = []

    def refuse(spec, *args, **kwargs):
        refused.append(spec.name)
        raise AssertionError(REAL_NETWORK)

    build_application = backbones.build_keras_application

    def random_application_only(spec, weights="imagenet"):
        return refuse(spec) if weights is not None else build_application(spec, weights)

    monkeypatch.setattr(backbones, "_build_lite", refuse)
    monkeypatch.setattr(backbones, "build_keras_application", random_application_only)
    yield
    if refused:
        pytest.fail(f"{REAL_NETWORK} (it tried to build {', '.join(sorted(set(refused)))})", pytrace=False)


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    """Jobs run inside the script run that starts them (AppTest cannot wait for worker threads): the app's
    scheduler is a ``Scheduler(threaded=False)`` for the test. A real server (browser tests) keeps its threads."""
    import ui.jobs
    from core.jobs import Scheduler

    schedulers = {}
    monkeypatch.setattr(ui.jobs, "shared_scheduler",
                        lambda slots, threaded=True: schedulers.setdefault(slots, Scheduler(slots, threaded=False)))


@pytest.fixture
def fake_backbones(monkeypatch):
    """The one way to fake the pretrained backbones: every load of the app and the command line builds a tiny
    mock (tests/mock_backbones.py); the shared caches start and end empty."""
    from tests.mock_backbones import clear_shared_caches, use_mock_backbones

    use_mock_backbones(monkeypatch)
    yield
    clear_shared_caches()


@pytest.fixture
def classroom(monkeypatch, tmp_path):
    """Classroom mode with one shared data folder (``shared/pets``) and, beside it, a folder nobody shared."""
    shared = tmp_path / "shared"
    (shared / "pets" / "cat").mkdir(parents=True)
    (shared / "pets" / "dog").mkdir(parents=True)
    (tmp_path / "secret-learner-folder").mkdir()
    monkeypatch.setenv("TRANSFER_LAB_MODE", "classroom")
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(shared))
    return shared


def make_tiny_model(num_classes: int = 2, size: int = 8, seed: int = 0) -> keras.Model:
    """An 8x8x3 conv net with a Dense logits layer: the mock backbone for fast tests."""
    inputs = keras.Input((size, size, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv",
                            kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(num_classes, name="predictions",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed + 1))(x)
    return keras.Model(inputs, outputs, name="tiny")


@pytest.fixture
def tiny_model() -> keras.Model:
    """A fresh tiny model: 8x8x3 pixels in 0-255 to 2 logits."""
    return make_tiny_model()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def lite0():
    """The real default backbone with its real weights (built once per test session)."""
    from core.models.backbones import load_backbone

    return load_backbone("efficientnet_lite0")


def top5_boxes(at) -> list[list[str]]:
    """Home's top-5 as an AppTest run drew them: one list of bar texts ('1. tabby cat · 45.2%') per photo."""
    texts = [bar.proto.text for bar in at.get("progress")]
    return [texts[i:i + 5] for i in range(0, len(texts), 5)]


def open_page(page: str, timeout: float = 240):
    """Runs the whole app (navigation and sidebar) headless in AppTest, landing straight on one page.

    Switching before the first run skips Home, whose sample photo would build the real Lite0; it works
    because every page's ``url_path`` is its file name.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    return at.switch_page(page).run()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(log_dir: Path, env: dict | None = None):
    """Runs ``streamlit run app.py`` on a free port (with extra environment) and yields its URL."""
    port = _free_port()
    log = open(log_dir / "server.log", "w")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    environ = {**os.environ, **(env or {})}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Streamlit app did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The app, started once for the test session."""
    with running_app(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(NO_CHROMIUM, pytrace=False)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser page, 1400x1000."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def wait_until_idle(page, timeout: float = 60_000) -> None:
    """Waits until the app's script is not running (a rerun redraws widgets under the browser's feet)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(300)  # let a rerun that an action just asked for begin
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)


@pytest.fixture(autouse=True)
def no_server_paths_shown(monkeypatch):
    """Every sentence any test has the app translate is scanned for server paths and session ids (issue 20).

    The pages catch and show errors, so a leak is remembered and fails the test at teardown.
    """
    import ui.i18n
    from tests.server_paths import leaks

    original, shown = getattr(ui.i18n.translate, "original", ui.i18n.translate), []

    def scanned(key, lang, **params):
        text = original(key, lang, **params)
        if leaks(text):
            shown.append(f"{key}: {text}")
        return text

    scanned.original = original  # a module imported during a test keeps this one: the next test replaces it
    for name, module in list(sys.modules.items()):
        found = getattr(module, "translate", None) if name.startswith(("ui", "app_pages")) else None
        if found is original or getattr(found, "original", None) is original:
            monkeypatch.setattr(module, "translate", scanned)
    yield
    assert not shown, f"a learner would read a server path or session id: {shown}"
