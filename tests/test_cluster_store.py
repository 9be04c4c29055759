"""Job inputs and embeddings in Redis (fakeredis): content keys, expiry renewed on use, misses as misses."""

from __future__ import annotations

import fakeredis
import numpy as np
import pytest

from core.cluster.store import RedisEmbeddings, RedisStore


def test_a_blob_comes_back_by_its_content_key_and_its_expiry_is_renewed_when_read():
    redis = fakeredis.FakeRedis()
    store = RedisStore(redis, max_age=100)
    key = store.put(b"photo bytes")
    assert key == store.put(b"photo bytes") and len(key) == 64
    redis.expire("tl:blob:" + key, 5)
    assert store.get(key) == b"photo bytes"
    assert redis.ttl("tl:blob:" + key) > 50


def test_a_missing_blob_is_a_lookup_error_naming_the_key():
    with pytest.raises(LookupError, match="ab" * 32):
        RedisStore(fakeredis.FakeRedis()).get("ab" * 32)


def test_embeddings_one_worker_wrote_are_hits_for_another():
    server = fakeredis.FakeServer()
    first, second = (RedisEmbeddings(fakeredis.FakeRedis(server=server)) for _ in range(2))
    rows = {"d1": (np.arange(4, dtype=np.float32), 2**63 + 5), "d2": (np.ones(4, np.float32), 7)}
    first.put_many("lite0-abc", rows)
    found = second.get_many("lite0-abc", ["d1", "d2", "d3"])
    assert sorted(found) == ["d1", "d2"]
    np.testing.assert_array_equal(found["d1"][0], rows["d1"][0])
    assert found["d1"][1] == 2**63 + 5 and found["d2"][1] == 7
    assert second.get_many("lite1-abc", ["d1"]) == {}


def test_the_disk_cache_falls_back_to_the_shared_level_and_fills_it(tmp_path, monkeypatch):
    from core.data import embeddings

    shared = RedisEmbeddings(fakeredis.FakeRedis())
    monkeypatch.setattr(embeddings, "second_level", lambda: shared)
    here = embeddings.EmbeddingCache("lite0-abc", root=tmp_path / "machine-a")
    here.add(["d1"], np.ones((1, 4), np.float32), [9])
    there = embeddings.EmbeddingCache("lite0-abc", root=tmp_path / "machine-b")
    assert "d1" in there and "d2" not in there
    row, dhash = there.get("d1")
    np.testing.assert_array_equal(row, np.ones(4, np.float32))
    assert dhash == 9
    private = embeddings.EmbeddingCache("lite0-abc", root=tmp_path / "machine-c", persist=False)
    private.add(["d9"], np.ones((1, 4), np.float32), [1])
    assert "d9" not in there  # a learner's own photos never leave their session


def test_the_app_store_is_the_labs_redis_when_the_cluster_is_configured(monkeypatch, tmp_path):
    from core.work import store

    monkeypatch.setenv("TRANSFER_LAB_REDIS_URL", "redis://127.0.0.1:1/0")
    assert isinstance(store.default_store(), RedisStore)
    monkeypatch.delenv("TRANSFER_LAB_REDIS_URL")
    monkeypatch.setenv("TRANSFER_LAB_STORE", str(tmp_path / "shared"))
    assert store.default_store().root == tmp_path / "shared"
