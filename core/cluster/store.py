"""Job inputs and embeddings in the lab's Redis, so every worker on every machine finds them.

``RedisStore`` is ``core.work.store``'s interface (``put(bytes) -> key``, ``get(key) -> bytes``) on Redis keys
that expire a day after their last use (what a closed session left goes by itself). ``RedisEmbeddings`` is the
embedding cache's second level: the local disk stays first, a photo one worker embedded is a hit on all.
"""

from __future__ import annotations

import contextlib
import hashlib

import numpy as np
from redis.exceptions import RedisError

from core.cluster import PREFIX

DAY = 24 * 3600


class RedisStore:
    """Bytes by SHA-256 in Redis, each key's expiry renewed when it is read or put again."""

    def __init__(self, connection, max_age: int = DAY):
        if max_age <= 0:
            raise ValueError(f"max_age must be positive, got {max_age!r}")
        self.redis, self.max_age = connection, max_age

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.redis.set(PREFIX + "blob:" + digest, data, ex=self.max_age)
        return digest

    def get(self, digest: str) -> bytes:
        from core.jobs import MissingInput

        name = PREFIX + "blob:" + digest
        data = self.redis.get(name)
        if data is None:
            raise MissingInput(digest)
        self.redis.expire(name, self.max_age)
        return data


class RedisEmbeddings:
    """Embeddings keyed exactly as the disk cache keys them: (cache folder, photo digest) -> (row, dHash).
    A value is the float32 row followed by the dHash as 8 bytes."""

    def __init__(self, connection, max_age: int = 7 * DAY):
        self.redis, self.max_age = connection, max_age

    def _name(self, cache_key: str, digest: str) -> str:
        return f"{PREFIX}emb:{cache_key}:{digest}"

    def get_many(self, cache_key: str, digests: list[str]) -> dict[str, tuple[np.ndarray, int]]:
        if not digests:
            return {}
        try:
            raw = self.redis.mget([self._name(cache_key, d) for d in digests])
        except RedisError:  # the shared level is a speed-up: without Redis this machine computes them
            return {}
        return {d: (np.frombuffer(r[:-8], dtype=np.float32).copy(), int.from_bytes(r[-8:], "little"))
                for d, r in zip(digests, raw) if r is not None}

    def put_many(self, cache_key: str, rows: dict[str, tuple[np.ndarray, int]]) -> None:
        pipe = self.redis.pipeline()
        for digest, (row, dhash) in rows.items():
            value = np.asarray(row, np.float32).tobytes() + int(dhash).to_bytes(8, "little")
            pipe.set(self._name(cache_key, digest), value, ex=self.max_age)
        with contextlib.suppress(RedisError):
            pipe.execute()
