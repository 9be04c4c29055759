"""``gradcam`` subcommand: where the network looked to score one ImageNet class."""

from __future__ import annotations

from pathlib import Path

from core.cli import emit_json


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("gradcam", help="Grad-CAM overlay of one ImageNet class on a photo")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--class", dest="class_index", type=int, default=None, metavar="INDEX",
                        help="ImageNet class index 0-999 (default: the top-1 prediction)")
    parser.add_argument("--out", required=True, metavar="PNG", help="where to write the overlay")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Writes the overlay of the photo as the network sees it; exit 2 on bad input."""
    from core.data.images import load_image_file, to_png_bytes
    from core.explain.gradcam import grad_cam, gradcam_overlay
    from core.models.backbones import load_backbone
    from core.models.imagenet import class_name
    from core.models.predictions import softmax

    image = load_image_file(args.image)
    backbone = load_backbone(args.backbone)
    pixels = backbone.prepare(image)
    result = grad_cam(backbone, pixels, args.class_index)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_png_bytes(gradcam_overlay(pixels, result.heatmap)))
    prob = float(softmax(result.scores)[result.class_index])
    report = {"class": result.class_index, "label": class_name(result.class_index), "prob": prob, "png": str(out)}
    if args.json:
        emit_json(report)
    else:
        print(f"{report['label']} ({report['class']}) {prob:.2%}: {out}")
    return 0
