"""Fine-tuning bench: breed accuracy on pets-mini, head only vs head then fine-tuning, and time per epoch.

Usage: python bench/bench_fine_tune.py [--backbone efficientnet_lite0] [--views 4] [--folds 5] [--blocks 2]
       [--epochs 3] [--learning-rate 1e-5]

For each fold of the stratified, duplicate-aware split of bench_transfer.py:
train the head on cached embeddings of ``--views`` views (20 epochs), score it
on the deployed view, then fine-tune the top ``--blocks`` blocks of a fresh
backbone with the head for
``--epochs`` epochs (augmentation on, BatchNorm frozen) and score again.
Prints per-fold and mean accuracy of both, and the fine-tuning seconds per
epoch on the fold's ~240 training photos (on this machine; say how loaded it was).
Goal (issue 5): fine-tuned higher than head only, at least 90%.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from bench_transfer import PETS, stratified_folds  # noqa: E402

from core.data.datasets import load_folder  # noqa: E402
from core.data.embeddings import embedder_for, run_extraction  # noqa: E402
from core.data.images import load_image_file  # noqa: E402
from core.data.splits import near_duplicate_groups  # noqa: E402
from core.models.backbones import load_backbone  # noqa: E402
from core.transfer.finetune import FineTuneSettings, fine_tune  # noqa: E402
from core.transfer.training import HeadSettings, train_head  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run-folds", type=int, default=0, help="stop after this many folds (0: all)")
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--views", type=int, default=4, choices=[1, 2, 4])
    args = parser.parse_args()
    os.environ["TRANSFER_LAB_CACHE"] = os.environ.get("TRANSFER_LAB_CACHE") or tempfile.mkdtemp()
    backbone = load_backbone(args.backbone)
    breeds = load_folder(PETS, "breeds")
    embeddings, _ = run_extraction(embedder_for(backbone), breeds.samples, views=args.views)
    features = [embeddings.features, *embeddings.views]
    labels = breeds.labels[embeddings.kept]
    pixels = np.stack([backbone.prepare(load_image_file(breeds.samples[i].path)) for i in embeddings.kept])
    fold_of = stratified_folds(labels, args.folds, 0, near_duplicate_groups(embeddings.hashes))
    settings = FineTuneSettings(args.blocks, args.epochs, args.learning_rate)
    print(f"{args.backbone}, head on {args.views} view(s), top {args.blocks} block(s) fine-tuned for {args.epochs} "
          f"epochs at lr {args.learning_rate:g}\n")
    print(f"{'fold':>4} {'train':>5} {'val':>4} {'head only':>10} {'fine-tuned':>11} {'s/epoch':>8}")
    head_scores, tuned_scores = [], []
    for fold in range(args.run_folds or args.folds):
        train, val = fold_of != fold, fold_of == fold
        head = train_head(np.concatenate([f[train] for f in features]), np.tile(labels[train], len(features)),
                          len(breeds.classes), settings=HeadSettings(epochs=20)).head
        head_scores.append(float(np.mean(np.argmax(head.predict(embeddings.features[val], verbose=0), 1)
                                         == labels[val])))
        own = load_backbone(args.backbone).embedding_model()
        tuned = fine_tune(own, head, breeds.classes, pixels[train], labels[train], settings=settings)
        tuned_scores.append(float(np.mean(np.argmax(tuned.model.predict(pixels[val], verbose=0), 1) == labels[val])))
        print(f"{fold:>4} {int(train.sum()):>5} {int(val.sum()):>4} {head_scores[-1]:>10.1%} {tuned_scores[-1]:>11.1%} "
              f"{tuned.seconds / args.epochs:>8.1f}", flush=True)
    print(f"{'mean':>4} {'':>5} {'':>4} {np.mean(head_scores):>10.1%} {np.mean(tuned_scores):>11.1%}")


if __name__ == "__main__":
    main()
