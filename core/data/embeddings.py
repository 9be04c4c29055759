"""Backbone embeddings computed once per photo and kept in an on-disk cache.

The cache key is (backbone, weights, preprocessing) for a folder and the
photo's content digest inside it, so renaming or moving a photo costs
nothing, and another backbone or crop never reuses stale features.
Extraction is a generator of progress steps: the page draws a progress bar,
the CLI prints lines, tests just run it; stopping half-way keeps every batch
already cached, so the next run resumes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np

from core.data.datasets import DatasetError, Sample
from core.data.downloads import cache_dir
from core.data.images import ImageInputError, center_crop_resize, load_image
from core.data.splits import dhash


@dataclass(frozen=True, eq=False)
class Embedder:
    """A pixels-to-embedding model and the preprocessing that feeds it, under one cache key."""

    key: str
    model: keras.Model
    input_size: int
    crop_fraction: float = 0.875
    mirror: bool = False

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The photo as the network sees it (centre crop, bicubic resize), mirrored for a mirrored view."""
        pixels = center_crop_resize(image, self.input_size, self.crop_fraction)
        return np.ascontiguousarray(pixels[:, ::-1]) if self.mirror else pixels

    @property
    def view(self) -> str:
        """What this view of a photo is, in words."""
        crop = "full frame" if self.crop_fraction >= 1 else f"centre {self.crop_fraction:.1%} crop"
        return f"{crop}, mirrored" if self.mirror else crop

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of prepared pixels (through Keras' compiled predict step, the fast path)."""
        return np.asarray(self.model.predict_on_batch(np.asarray(pixels, np.float32)), dtype=np.float32)


def embedder_for(backbone) -> Embedder:
    """The Embedder of a loaded pretrained ``Backbone`` (its weights' checksum is part of the key)."""
    spec = backbone.spec
    weights = (spec.weights_sha256 or spec.weights_md5 or spec.weights_file or "imagenet")[:16]
    key = f"{spec.name}-{weights}-crop{spec.crop_fraction:g}-{spec.input_size}px-bicubic-{spec.embedding_layer}"
    return Embedder(key, backbone.embedding_model(), spec.input_size, spec.crop_fraction)


VIEW_COUNTS = (1, 2, 4)


def view_embedders(embedder: Embedder, views: int = 1) -> tuple[Embedder, ...]:
    """The embedder itself, then the extra views of each photo a head can also learn from.

    Two views add the mirror image; four also add the uncropped frame and its
    mirror (a crop of 87.5% when the embedder already sees the full frame).
    Each view has its own cache key; the first is the embedder unchanged.

    Args:
        embedder: the deployed view (the preprocessing the saved model applies).
        views: 1, 2 or 4.

    Returns:
        ``views`` embedders, the deployed one first.
    """
    if views not in VIEW_COUNTS:
        raise ValueError(f"views must be one of {VIEW_COUNTS}, got {views}")
    other_crop = 1.0 if embedder.crop_fraction < 1 else 0.875
    variants = [(embedder.crop_fraction, True), (other_crop, False), (other_crop, True)][:views - 1]
    return (embedder, *(replace(embedder, key=f"{embedder.key}-view-crop{crop:g}{'-mirror' if mirror else ''}",
                                crop_fraction=crop, mirror=mirror) for crop, mirror in variants))


def sample_digest(sample: Sample) -> str:
    """Content digest of a photo: its file bytes, or its pixels when it is in memory."""
    if sample.digest:
        return sample.digest
    if sample.image is not None:
        data = np.ascontiguousarray(sample.image).tobytes() + str(sample.image.shape).encode()
    else:
        data = Path(sample.path).read_bytes()
    return hashlib.sha256(data).hexdigest()[:40]


@functools.lru_cache(maxsize=1)
def second_level():
    """The embeddings every machine of a cluster shares (Redis, with ``TRANSFER_LAB_REDIS_URL``), or None: then
    this machine's disk is the only level, as on a laptop."""
    from core.cluster import connect, redis_url

    url = redis_url()
    if url is None:
        return None
    from core.cluster.store import RedisEmbeddings

    return RedisEmbeddings(connect(url))


class EmbeddingCache:
    """Embeddings and dHashes of photos for one embedder, stored as append-only ``.npz`` shards.

    Args:
        key: the embedder's key.
        root: cache folder (``cache_dir("embeddings")`` by default).
        persist: False keeps everything in memory (photos a learner uploaded stay private to the session).
    """

    def __init__(self, key: str, root: str | Path | None = None, persist: bool = True):
        self.persist = persist
        # The dHash method is part of the key: stored hashes must match the ones computed now.
        safe = hashlib.sha256(f"{key}|dhash-lanczos-9x8-of-crop".encode()).hexdigest()[:16]
        self.root = Path(root) if root else cache_dir("embeddings")
        self.folder = self.root / f"{key[:40].replace('/', '_')}-{safe}"
        self._entries: dict[str, tuple[np.ndarray, int]] | None = None

    def _load(self) -> dict[str, tuple[np.ndarray, int]]:
        """Reads every shard once; damaged shards are ignored (their photos are recomputed)."""
        if self._entries is None:
            self._entries = {}
            for shard in sorted(self.folder.glob("*.npz")) if self.persist and self.folder.is_dir() else []:
                try:
                    with np.load(shard) as data:
                        for d, e, h in zip(data["digests"], data["embeddings"], data["hashes"]):
                            self._entries[str(d)] = (e, int(h))
                except (OSError, ValueError, KeyError):
                    continue
        return self._entries

    def sibling(self, key: str) -> EmbeddingCache:
        """A cache for another embedder (another view), kept where and as this one is (on disk or in memory)."""
        return EmbeddingCache(key, self.root, self.persist)

    def __contains__(self, digest: str) -> bool:
        entries = self._load()
        if digest not in entries and self.persist and second_level() is not None:
            entries.update(second_level().get_many(self.folder.name, [digest]))  # another machine's work
        return digest in entries

    def __len__(self) -> int:
        return len(self._load())

    def get(self, digest: str) -> tuple[np.ndarray, int]:
        """(embedding, dHash) of one cached photo."""
        return self._load()[digest]

    def add(self, digests: list[str], embeddings: np.ndarray, hashes: list[int]) -> None:
        """Stores one batch as a new shard, written atomically."""
        entries = self._load()
        for d, e, h in zip(digests, embeddings, hashes):
            entries[d] = (np.asarray(e, np.float32), int(h))
        if not self.persist:
            return
        if second_level() is not None:
            second_level().put_many(self.folder.name, {d: entries[d] for d in digests})
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            np.savez(out, digests=np.array(digests), embeddings=np.asarray(embeddings, np.float32),
                     hashes=np.array(hashes, dtype=np.uint64))
        os.replace(tmp, self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.npz")


@dataclass(frozen=True, eq=False)
class Embeddings:
    """The features of the photos that could be read, and those that could not."""

    features: np.ndarray
    hashes: tuple[int, ...]
    kept: np.ndarray
    failed: tuple[tuple[str, ImageInputError], ...] = ()
    views: tuple[np.ndarray, ...] = ()  # the same rows seen through extra views (``view_embedders``)


@dataclass(frozen=True)
class ExtractionStep:
    """Progress of an extraction; the last step carries the result."""

    done: int
    total: int
    computed: int
    failed: int
    images_per_s: float
    seconds_left: float | None
    result: Embeddings | None = field(default=None, compare=False)
    view: str = ""
    view_index: int = 0
    view_count: int = 1

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def extract_embeddings(embedder: Embedder, samples, cache: EmbeddingCache | None = None,
                       batch_size: int = 32) -> Iterator[ExtractionStep]:
    """Computes the embeddings that are not cached yet, batch by batch, yielding progress.

    Photos that cannot be decoded are skipped and reported in the result's
    ``failed``. Decoding the next batch overlaps with the backbone running on
    this one (TensorFlow releases the GIL), so the backbone is rarely idle.

    Args:
        embedder: the model and preprocessing.
        samples: the ``Sample`` list.
        cache: where embeddings are kept; a cache for ``embedder.key`` by default.
        batch_size: photos per backbone call.

    Yields:
        ``ExtractionStep`` after the cache look-up and after each batch; the
        last one has ``result`` (features in the order of the readable samples).
    """
    samples = list(samples)
    cache = EmbeddingCache(embedder.key) if cache is None else cache
    digests = [sample_digest(s) for s in samples]
    todo = _uncached(digests, cache)
    failed: dict[int, ImageInputError] = {}
    done, computed, start = len(samples) - len(todo), 0, time.perf_counter()
    yield ExtractionStep(done, len(samples), 0, 0, 0.0, None)
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_decode_batch, embedder, samples, batches[0]) if batches else None
        for k, batch in enumerate(batches):
            pixels, hashes, ok, errors = pending.result()
            pending = pool.submit(_decode_batch, embedder, samples, batches[k + 1]) if k + 1 < len(batches) else None
            failed.update(errors)
            if ok:
                cache.add([digests[i] for i in ok], embedder.embed(pixels), hashes)
            computed += len(ok)
            done += len(batch)
            rate = computed / max(time.perf_counter() - start, 1e-9)
            left = (len(samples) - done) / rate if rate else None
            yield ExtractionStep(done, len(samples), computed, len(failed), rate, left)
    yield ExtractionStep(done, len(samples), computed, len(failed),
                         computed / max(time.perf_counter() - start, 1e-9), 0.0,
                         _collect(samples, digests, cache, failed))


def _uncached(digests: list[str], cache: EmbeddingCache) -> list[int]:
    """Indices to compute: not cached, and only the first of identical photos."""
    seen, todo = set(), []
    for i, digest in enumerate(digests):
        if digest not in cache and digest not in seen:
            todo.append(i)
        seen.add(digest)
    return todo


def _decode_batch(embedder: Embedder, samples: list[Sample], indices: list[int]):
    """Reads and prepares one batch: (pixels, dHashes, indices read, {index: error})."""
    pixels, hashes, ok, errors = [], [], [], {}
    for i in indices:
        try:
            image = _read(samples[i])
        except ImageInputError as exc:
            errors[i] = exc
            continue
        prepared = embedder.prepare(image)
        pixels.append(prepared)
        hashes.append(dhash(prepared))  # of the crop the network sees: cheaper, and copies still match
        ok.append(i)
    shape = (0, embedder.input_size, embedder.input_size, 3)
    return (np.stack(pixels) if pixels else np.zeros(shape, np.uint8)), hashes, ok, errors


def _read(sample: Sample) -> np.ndarray:
    """The photo's pixels, decoded safely."""
    if sample.image is not None:
        return np.asarray(sample.image, np.uint8)
    try:
        data = Path(sample.path).read_bytes()
    except OSError as exc:
        raise ImageInputError("image_cannot_open", file=sample.name, reason=exc.strerror) from None
    return load_image(data, sample.name)


def _collect(samples, digests, cache, failed) -> Embeddings:
    """Gathers the cached features of every readable sample, in order."""
    kept = [i for i in range(len(samples)) if i not in failed and digests[i] in cache]
    features = np.stack([cache.get(digests[i])[0] for i in kept]) if kept else np.zeros((0, 0), np.float32)
    hashes = tuple(cache.get(digests[i])[1] for i in kept)
    return Embeddings(features.astype(np.float32), hashes, np.array(kept, dtype=np.int64),
                      tuple((samples[i].name, msg) for i, msg in sorted(failed.items())))


def extract_views(embedder: Embedder, samples, views: int = 1, cache_for=None,
                  batch_size: int = 32) -> Iterator[ExtractionStep]:
    """Extracts the deployed view of every photo, then each extra view of those that could be read.

    Args:
        embedder: the deployed view.
        samples: the ``Sample`` list.
        views: 1, 2 or 4 (see ``view_embedders``).
        cache_for: maps an ``Embedder`` to its ``EmbeddingCache``; the shared on-disk cache by default.
        batch_size: photos per backbone call.

    Yields:
        ``ExtractionStep`` with ``view``, ``view_index`` and ``view_count`` set; the last one has ``result``,
        whose ``views`` holds the extra views' features row for row.
    """
    embedders = view_embedders(embedder, views)
    cache_for = cache_for or (lambda e: EmbeddingCache(e.key))
    base, extra = None, []
    for index, view in enumerate(embedders):
        todo = list(samples) if base is None else [samples[i] for i in base.kept]
        for step in extract_embeddings(view, todo, cache_for(view), batch_size):
            step = replace(step, view=view.view, view_index=index, view_count=len(embedders))
            if step.result is None:
                yield step
            elif base is None:
                base = step.result
            elif len(step.result.features) != len(base.features):
                raise DatasetError("training_view_unreadable", view=view.view,
                               count=len(base.features) - len(step.result.features))
            else:
                extra.append(step.result.features)
    yield replace(step, result=replace(base, views=tuple(extra)))


def run_extraction(embedder: Embedder, samples, cache: EmbeddingCache | None = None, batch_size: int = 32,
                   on_step=None, views: int = 1) -> tuple[Embeddings, ExtractionStep]:
    """Runs ``extract_views`` to the end; returns the embeddings and the last step.

    ``cache`` (for the deployed view) and ``on_step`` are optional; extra views are cached beside ``cache``,
    on disk or in memory as it is.
    """
    step = None
    cache_for = (lambda e: cache if e is embedder else cache.sibling(e.key)) if cache is not None else None
    for step in extract_views(embedder, list(samples), views, cache_for, batch_size):
        if on_step:
            on_step(step)
    return step.result, step
