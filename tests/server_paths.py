"""What a learner must never read (issue 20): a server path, a temporary folder or a session id.

``leaks(text)`` lists the pieces of ``text`` that are one: an absolute POSIX path of two or more parts (a URL's
path after its host does not count), this machine's temporary folder, home folder or Keras folder, an uploads
folder name (``transfer-lab-uploads-``, ``session-``, ``upload-`` + random letters) or a UUID.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s(\[“\"'=：:，,（]))/(?:[\w.@~-]+/)+[\w.@~-]*")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
UPLOAD_FOLDER = re.compile(r"transfer-lab-uploads-|session-[\w-]{6,}|upload-[\w]{6,}")


def _server_folders() -> list[str]:
    folders = {tempfile.gettempdir(), str(Path.home()), os.environ.get("KERAS_HOME", ""),
               str(Path.home() / ".keras")}
    return sorted(f for f in folders if len(f) > 1)


def leaks(text: str) -> list[str]:
    """The server paths and session ids in ``text`` (empty when it is safe to show)."""
    found = ABSOLUTE_PATH.findall(text) + UUID.findall(text) + UPLOAD_FOLDER.findall(text)
    return found + [folder for folder in _server_folders() if folder in text]
