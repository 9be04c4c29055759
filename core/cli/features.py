"""``features`` subcommand: one PNG grid of the most active channels per stage of a backbone."""

from __future__ import annotations

import math
from pathlib import Path

from core.cli import emit_json, positive_int, progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("features", help="feature-map grids of every stage for one photo")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--top", type=positive_int, default=16, help="channels per stage (default 16)")
    parser.add_argument("--scale", choices=("channel", "shared"), default="channel",
                        help="colour scale per channel or shared by the stage's channels")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG grids")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Writes the grids; exit 2 if the photo or the backbone cannot be loaded."""
    from core.data.images import load_image_file, to_png_bytes
    from core.explain.feature_maps import extract_features, top_channels
    from core.explain.heatmaps import channel_grid
    from core.models.backbones import load_backbone

    image = load_image_file(args.image)
    backbone = load_backbone(args.backbone)
    progress(f"feature maps of {args.image} with {backbone.spec.display_name}")
    features = extract_features(backbone, backbone.prepare(image))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, stage in enumerate(features.stages):
        channels = top_channels(stage.activations, args.top)
        path = out / f"{i:02d}_{stage.layer}.png"
        grid = channel_grid(stage.activations, channels, args.scale, columns=math.ceil(math.sqrt(len(channels))),
                            min_size=64)
        path.write_bytes(to_png_bytes(grid))
        rows.append({"stage": stage.label, "layer": stage.layer, "shape": list(stage.shape), "png": str(path),
                     "top_channels": channels})
    if args.json:
        emit_json(rows)
    else:
        for row in rows:
            h, w, c = row["shape"]
            print(f"{row['stage']:<8} {row['layer']:<18} {h:>3}x{w:<3} x {c:>4} channels  {row['png']}")
    return 0
