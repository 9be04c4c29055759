"""Optional downloads: cache hits, checksums, progress and a quick offline answer (loopback only)."""

import hashlib
import http.server
import socket
import threading
import time

import pytest

from core.data import downloads
from core.data.downloads import ChecksumError, NoNetworkError, cache_dir, download

PAYLOAD = b"transfer lab " * 1000


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/file.bin"
    httpd.shutdown()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_downloads_verifies_and_reports_progress(server, tmp_path):
    seen = []
    path = download(server, tmp_path / "file.bin", hashlib.sha256(PAYLOAD).hexdigest(),
                    progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert list(tmp_path.iterdir()) == [path]  # no partial file left behind


def test_wrong_checksum_keeps_nothing(server, tmp_path):
    with pytest.raises(ChecksumError, match="file.bin"):
        download(server, tmp_path / "file.bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_cached_file_needs_no_network(tmp_path):
    cached = tmp_path / "file.bin"
    cached.write_bytes(PAYLOAD)
    url = f"http://127.0.0.1:{_closed_port()}/file.bin"
    assert download(url, cached, hashlib.md5(PAYLOAD).hexdigest(), algorithm="md5") == cached


def test_no_network_is_a_clear_message(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/images.tar.gz"
    with pytest.raises(NoNetworkError, match="needs a network connection.*by hand"):
        download(url, tmp_path / "images.tar.gz")


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_CACHE", str(tmp_path / "c"))
    assert cache_dir("weights") == tmp_path / "c" / "weights" and (tmp_path / "c" / "weights").is_dir()


def test_extraction_is_invisible_until_complete_and_failure_leaves_nothing(tmp_path):
    folder = tmp_path / "dataset"
    seen = []

    def extract(staging):
        (staging / "images").mkdir()
        (staging / "images" / "a.jpg").write_bytes(b"x")
        seen.append(sorted(p.name for p in folder.iterdir()))  # mid-extraction, as another session sees it
    downloads.install_extracted(folder, extract)
    assert seen == [[]]
    assert downloads.is_complete(folder) and (folder / "images" / "a.jpg").is_file()

    def broken(staging):
        (staging / "annotations").mkdir()
        raise OSError("disk full")
    other = tmp_path / "other"
    with pytest.raises(OSError):
        downloads.install_extracted(other, broken)
    assert not downloads.is_complete(other) and list(other.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "other"]


def test_one_download_at_a_time(tmp_path):
    folder, inside, overlaps = tmp_path / "dataset", [], []

    def fetch():
        with downloads.exclusive(folder):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()
    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1, 1]


def test_ssl_error_mid_download_is_a_clear_message(server, tmp_path, monkeypatch):
    import ssl
    import urllib.request

    def broken(*args, **kwargs):
        raise ssl.SSLError("certificate verify failed")
    monkeypatch.setattr(urllib.request, "urlopen", broken)
    with pytest.raises(NoNetworkError, match="certificates, then try again"):
        download(server, tmp_path / "file.bin")
    assert list(tmp_path.iterdir()) == []
