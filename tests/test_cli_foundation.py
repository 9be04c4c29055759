"""``python -m core backbones`` and ``classify``: the command-line contract."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_backbones_json_lists_sizes_and_availability():
    result = run_cli("backbones", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["efficientnet_lite0"]["input_size"] == 224 and rows["efficientnet_lite0"]["available"] is True
    assert {"mobilenet_v2", "resnet50", "vgg16"} <= set(rows)


@pytest.mark.real_backbone
def test_classify_reports_each_file_and_fails_on_a_bad_one(shared_data):
    dog = str(shared_data / "singles" / "dog_closeup_leonberger.jpg")
    bad = str(shared_data / "odd" / "truncated.jpg")
    result = run_cli("classify", dog, bad, "--top", "3", "--json")
    assert result.returncode == 2, result.stderr
    first, second = json.loads(result.stdout)
    assert first["file"] == dog and len(first["predictions"]) == 3
    assert first["predictions"][0]["label"] == "Leonberg" and 151 <= first["predictions"][0]["index"] <= 268
    assert first["predictions"][0]["prob"] >= first["predictions"][1]["prob"]
    assert second["file"] == bad and "damaged" in second["error"] and "predictions" not in second


@pytest.mark.real_backbone
def test_classify_exit_zero_when_all_files_work(shared_data):
    cat = str(shared_data / "singles" / "cat_bengal_fullbody.jpg")
    result = run_cli("classify", cat, "--backbone", "efficientnet_lite1", "--top", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert 281 <= json.loads(result.stdout)[0]["predictions"][0]["index"] <= 285


def test_classify_rejects_a_top_k_out_of_range(shared_data):
    result = run_cli("classify", str(shared_data / "singles" / "cat_bengal_fullbody.jpg"), "--top", "0")
    assert result.returncode == 2 and "--top must be from 1 to 1000" in result.stderr
