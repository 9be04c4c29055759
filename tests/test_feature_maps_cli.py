"""The ``features`` and ``gradcam`` subcommands keep their JSON contracts."""

import json

import pytest

from core.cli import main
from core.data.images import load_image_file
from core.models.backbones import get_spec
from core.models.imagenet import DOG_CLASSES, class_name


@pytest.mark.real_backbone
def test_features_writes_one_grid_per_stage_and_reports_them(tmp_path, shared_data, capsys):
    out = tmp_path / "grids"
    status = main(["features", str(shared_data / "singles" / "cat_closeup_tabby.jpg"), "--top", "4",
                   "--out", str(out), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    spec = get_spec("efficientnet_lite0")
    assert [(r["stage"], r["layer"]) for r in rows] == list(spec.stages)
    assert all(set(r) == {"stage", "layer", "shape", "png", "top_channels"} for r in rows)
    assert rows[0]["shape"] == [112, 112, 32] and rows[-1]["shape"] == [7, 7, 1280]
    for row in rows:
        assert len(row["top_channels"]) == 4 and len(set(row["top_channels"])) == 4
        assert all(0 <= c < row["shape"][2] for c in row["top_channels"])
        grid = load_image_file(row["png"])
        assert grid.shape[0] == grid.shape[1] > 64  # 2 x 2 tiles of at least 64 px each
    assert sorted(p.name for p in out.iterdir()) == sorted(p.rsplit("/", 1)[-1] for p in (r["png"] for r in rows))


@pytest.mark.real_backbone
def test_gradcam_writes_the_overlay_and_reports_the_class(tmp_path, shared_data, capsys):
    png = tmp_path / "cam.png"
    status = main(["gradcam", str(shared_data / "singles" / "dog_closeup_leonberger.jpg"), "--out", str(png),
                   "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert set(report) == {"class", "label", "prob", "png"}
    assert report["class"] in DOG_CLASSES and report["label"] == class_name(report["class"])
    assert 0 < report["prob"] <= 1 and report["png"] == str(png)
    assert load_image_file(png).shape == (224, 224, 3)

    status = main(["gradcam", str(shared_data / "singles" / "dog_closeup_leonberger.jpg"), "--class", "281",
                   "--out", str(png), "--json"])
    chosen = json.loads(capsys.readouterr().out)
    assert status == 0 and chosen["class"] == 281 and chosen["label"] == class_name(281)
    assert chosen["prob"] < report["prob"]


def test_unreadable_photo_or_bad_class_exits_2_with_a_message(tmp_path, shared_data, capsys):
    truncated = str(shared_data / "odd" / "truncated.jpg")
    assert main(["features", truncated, "--out", str(tmp_path)]) == 2
    assert "truncated.jpg" in capsys.readouterr().err
    assert main(["gradcam", truncated, "--out", str(tmp_path / "x.png")]) == 2
    assert "truncated.jpg" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["features", truncated, "--top", "0", "--out", str(tmp_path)])
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.real_backbone
def test_gradcam_refuses_a_class_outside_imagenet(tmp_path, shared_data, capsys):
    status = main(["gradcam", str(shared_data / "singles" / "nonpet_coffee_cup.jpg"), "--class", "1000",
                   "--out", str(tmp_path / "x.png")])
    assert status == 2 and "class_index must be from 0 to 999" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
