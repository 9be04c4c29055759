"""Optional downloads: cache hits, checksums, progress and a quick offline answer (loopback only)."""

import hashlib
import http.server
import socket
import threading

import pytest

from core.downloads import ChecksumError, NoNetworkError, cache_dir, download

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
