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
    rows = {"d1": np.arange(4, dtype=np.float32), "d2": np.ones(4, np.float32)}
    first.put_many("lite0/abc/crop", rows)
    found = second.get_many("lite0/abc/crop", ["d1", "d2", "d3"])
    assert sorted(found) == ["d1", "d2"]
    np.testing.assert_array_equal(found["d1"], rows["d1"])
    assert second.get_many("lite1/abc/crop", ["d1"]) == {}
