"""The torch-free .pth reader: exact values, and refusal of anything but tensors."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from core.models.torch_checkpoint import LEGACY_MAGIC, CheckpointError, load_state_dict, sha256_file

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_legacy.pth"


def test_reads_a_state_dict_written_by_torch():
    state = load_state_dict(FIXTURE)
    assert list(state) == ["weight", "row", "transposed", "bias", "count"]
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(state["weight"], expected)
    np.testing.assert_array_equal(state["row"], expected[1])
    np.testing.assert_array_equal(state["transposed"], expected.T)
    assert state["bias"].dtype == np.float64 and state["bias"].tolist() == [0.5, -1.5]
    assert state["count"].dtype == np.int64 and int(state["count"]) == 7


def test_checks_the_pinned_sha256_before_reading():
    good = sha256_file(FIXTURE)
    assert load_state_dict(FIXTURE, sha256=good)["count"] == 7
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_state_dict(FIXTURE, sha256="0" * 64)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _legacy_file(path, payload):
    with open(path, "wb") as handle:
        for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, handle, protocol=2)
        pickle.dump(payload, handle, protocol=2)
        pickle.dump([], handle, protocol=2)


def test_refuses_a_pickle_that_calls_a_function(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.pth"
    _legacy_file(bad, {"weight": _Exploit(marker)})
    with pytest.raises(CheckpointError, match="refusing to load .*system"):
        load_state_dict(bad)
    assert not marker.exists(), "the reader ran code from the file"


def test_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(CheckpointError, match="not a PyTorch legacy checkpoint"):
        load_state_dict(bad)


def test_refuses_a_truncated_checkpoint(tmp_path):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(FIXTURE.read_bytes()[:-20])
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(cut)
