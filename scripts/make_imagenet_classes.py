"""Writes assets/imagenet_classes.json from the synset lists that timm ships.

Usage: pip download --no-deps timm -d /tmp/timm && unzip /tmp/timm/timm-*.whl
'timm/data/_info/*' -d /tmp/timm && python scripts/make_imagenet_classes.py /tmp/timm
"""

import json
import sys
from pathlib import Path


def main(root: str) -> None:
    info = Path(root) / "timm" / "data" / "_info"
    synsets = info.joinpath("imagenet_synsets.txt").read_text().split()
    lemmas = dict(
        line.split("\t", 1) for line in info.joinpath("imagenet_synset_to_lemma.txt").read_text().splitlines()
    )
    classes = [
        {"index": i, "synset": s, "name": lemmas[s].split(", ")[0], "lemmas": lemmas[s]}
        for i, s in enumerate(synsets)
    ]
    # Two pairs of classes share a name; say which is which.
    renames = {134: "crane (bird)", 517: "crane (machine)", 638: "maillot (tights)", 639: "maillot (swimsuit)"}
    for index, name in renames.items():
        classes[index]["name"] = name
    out = Path(__file__).resolve().parent.parent / "assets" / "imagenet_classes.json"
    out.write_text(json.dumps(classes, indent=0) + "\n")
    print(f"wrote {len(classes)} classes to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
