"""The two public datasets a learner can download: where each lives, whether it is ready, and fetching it
(verified, one download at a time, extracted atomically)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.data.archives import extract_tar, extract_zip
from core.data.downloads import NoNetworkError, cache_dir, download, exclusive, install_extracted, is_complete

OXFORD_BASE = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/"
OXFORD_ARCHIVES = (("images.tar.gz", "5c4f3ee8e5d25df40f4fd59a7f44e54c"),
                   ("annotations.tar.gz", "95a8c909bbe2e81eed6a22bccdf3f68f"))


CATS_VS_DOGS_URL = ("https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
                    "kagglecatsanddogs_5340.zip")
CATS_VS_DOGS_SHA256 = "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9"


def oxford_pets_dir() -> Path:
    """Where the Oxford-IIIT Pet dataset lives once downloaded (or put by hand)."""
    return cache_dir("datasets", "oxford-iiit-pet")


def cats_vs_dogs_dir() -> Path:
    """Where Microsoft's Cats vs Dogs lives once downloaded (or put by hand)."""
    return cache_dir("datasets", "cats-vs-dogs")


def _oxford_pets_ready(root: Path) -> bool:
    """Oxford-IIIT Pet is extracted at ``root`` (by the app, which marks it complete, or by hand)."""
    return (root / "annotations" / "trainval.txt").is_file() and (root / "images").is_dir() and (
        is_complete(root) or not _extracting(root))


def _cats_vs_dogs_ready(root: Path) -> bool:
    """Cats vs Dogs is extracted at ``root`` (by the app, which marks it complete, or by hand)."""
    return (root / "PetImages" / "Cat").is_dir() and (is_complete(root) or not _extracting(root))


def _extracting(root: Path) -> bool:
    """Another session is extracting into a staging sibling of ``root`` right now."""
    return any(root.parent.glob(f".{root.name}-extract-*"))


def fetch_oxford_pets(progress: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Downloads (once), verifies and extracts Oxford-IIIT Pet.

    Args:
        progress: called with (file name, bytes done, total bytes or None).

    Returns:
        The folder holding ``images/`` and ``annotations/``.

    Raises:
        NoNetworkError: offline and not there yet; the message says where to put the files by hand.
        ChecksumError: a downloaded archive is not the official one.
    """
    root = oxford_pets_dir()
    if _oxford_pets_ready(root):
        return root
    with exclusive(root):  # one download at a time; the second session finds it ready
        if not _oxford_pets_ready(root):
            install_extracted(root, lambda staging: [extract_tar(archive, staging)
                                                     for archive in _oxford_archives(root, progress)])
    return root


def _oxford_archives(root: Path, progress) -> list[Path]:
    """Downloads (or finds) both Oxford-IIIT Pet archives."""
    archives = []
    for file_name, md5 in OXFORD_ARCHIVES:
        report = (lambda done, total, f=file_name: progress(f, done, total)) if progress else None
        try:
            archive = download(OXFORD_BASE + file_name, root / "downloads" / file_name, md5, "md5", report)
        except NoNetworkError:
            raise NoNetworkError("oxford_offline", url=OXFORD_BASE, downloads=str(root / "downloads"),
                                 path=str(root)) from None
        archives.append(archive)
    return archives


def fetch_cats_vs_dogs(progress: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Downloads (once), verifies and extracts Microsoft's Cats vs Dogs.

    Args:
        progress: called with (file name, bytes done, total bytes or None).

    Returns:
        The folder holding ``PetImages``.

    Raises:
        NoNetworkError: offline and not there yet; the message says where to put the files by hand.
    """
    root = cats_vs_dogs_dir()
    if _cats_vs_dogs_ready(root):
        return root
    with exclusive(root):  # one download at a time; the second session finds it ready
        if not _cats_vs_dogs_ready(root):
            install_extracted(root, lambda staging: extract_zip(_cats_vs_dogs_archive(root, progress), staging))
    return root


def _cats_vs_dogs_archive(root: Path, progress) -> Path:
    """Downloads (or finds) the Cats vs Dogs zip."""
    file_name = CATS_VS_DOGS_URL.rsplit("/", 1)[1]
    report = (lambda done, total: progress(file_name, done, total)) if progress else None
    try:
        archive = download(CATS_VS_DOGS_URL, root / "downloads" / file_name, CATS_VS_DOGS_SHA256, "sha256", report)
    except NoNetworkError:
        raise NoNetworkError("cats_offline", url=CATS_VS_DOGS_URL, file=file_name, downloads=str(root / "downloads"),
                             path=str(root)) from None
    return archive
