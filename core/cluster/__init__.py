"""Beyond one machine: the job queue on Redis with RQ workers (``TRANSFER_LAB_REDIS_URL``).

``queue.RedisScheduler`` is the front ends' side (a Streamlit replica submits specs, reads places, progress and
results, stops and cancels), ``core.work.worker`` the workers' side (``python -m core worker`` runs the same
``core.work.runner.run`` as the in-process scheduler), ``store.RedisStore`` the job inputs and the second level
of the embedding cache. Without ``TRANSFER_LAB_REDIS_URL`` none of this is imported: one process, no services.
"""

from __future__ import annotations

import os

REDIS_URL_ENV = "TRANSFER_LAB_REDIS_URL"
QUEUE_NAME = "transfer-lab"
PREFIX = "tl:"


def redis_url(environ=os.environ) -> str | None:
    """The Redis the lab shares, or None for the embedded default (one process, no services)."""
    return environ.get(REDIS_URL_ENV) or None


def connect(url: str):
    """A Redis client for ``url`` (bytes in, bytes out: records are pickled)."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)
