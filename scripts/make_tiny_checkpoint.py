"""Writes tests/fixtures/tiny_legacy.pth, a small legacy-format state dict made by real torch.

Run with torch installed (see make_reference_logits.py): it gives the reader
test a file written by torch itself, with a shared storage, an offset view,
a transposed (non-contiguous) view, a parameter and an int64 scalar.
"""

from collections import OrderedDict
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tiny_legacy.pth"


def main() -> None:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    state = OrderedDict(
        weight=base,
        row=base[1],  # shares base's storage at offset 4
        transposed=base.t(),  # non-contiguous view of the same storage
        bias=torch.nn.Parameter(torch.tensor([0.5, -1.5], dtype=torch.float64)),
        count=torch.tensor(7, dtype=torch.int64),
    )
    torch.save(state, OUT, _use_new_zipfile_serialization=False)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
