"""Embedding cache, head training, evaluation, the saved model and the train/evaluate/predict CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from core.cli import main
from core.data.datasets import Sample, limit_per_class, load_folder
from core.data.embeddings import (
    Embedder,
    EmbeddingCache,
    extract_embeddings,
    extract_views,
    run_extraction,
    sample_digest,
    view_embedders,
)
from core.transfer.evaluation import confusion_matrix, evaluate_probs, top_losses
from core.transfer.export import keras_bytes
from core.transfer.loading import load_model_file
from core.transfer.pipeline import export_model, predict_probs, prepare_data
from core.transfer.training import HeadSettings, train_head
from tests.conftest import make_tiny_model


def _tiny_embedder(key: str = "tiny-seed0") -> Embedder:
    """Embeddings from the tiny model's 4-channel average pool, 8x8 input."""
    model = make_tiny_model()
    return Embedder(key, keras.Model(model.input, model.get_layer("avg_pool").output), 8)


class CountingEmbedder(Embedder):
    """An Embedder that counts the photos it runs through the network."""

    calls: list

    def embed(self, pixels):
        self.calls.append(len(pixels))
        return super().embed(pixels)


def _counting(key="tiny-seed0") -> CountingEmbedder:
    base = _tiny_embedder(key)
    embedder = CountingEmbedder(base.key, base.model, base.input_size)
    object.__setattr__(embedder, "calls", [])
    return embedder


@pytest.fixture
def photos(shared_data) -> list[Sample]:
    paths = sorted((shared_data / "pets-mini" / "cat").glob("*.jpg"))[:5] + [shared_data / "odd" / "truncated.jpg"]
    return [Sample(p.name, 0, str(p)) for p in paths]


def test_cache_second_run_computes_nothing(photos, tmp_path):
    embedder = _counting()
    first, step = run_extraction(embedder, photos, EmbeddingCache(embedder.key, tmp_path), batch_size=2)
    assert step.computed == 5 and sum(embedder.calls) == 5
    assert first.features.shape == (5, 4) and first.kept.tolist() == [0, 1, 2, 3, 4]
    assert [name for name, _ in first.failed] == ["truncated.jpg"]
    embedder.calls.clear()
    second, step = run_extraction(embedder, photos, EmbeddingCache(embedder.key, tmp_path), batch_size=2)
    assert embedder.calls == [] and step.computed == 0
    np.testing.assert_array_equal(second.features, first.features)
    assert second.hashes == first.hashes
    other = _counting("tiny-other-weights")
    run_extraction(other, photos, EmbeddingCache(other.key, tmp_path))
    assert sum(other.calls) == 5  # another backbone/weights/preprocessing never reuses these


def test_cache_resumes_after_a_stop_and_streams_progress(photos, tmp_path):
    embedder = _counting()
    steps = extract_embeddings(embedder, photos[:5], EmbeddingCache(embedder.key, tmp_path), batch_size=2)
    first = next(steps)
    assert (first.done, first.total, first.computed) == (0, 5, 0)
    after_one_batch = next(steps)
    assert (after_one_batch.done, after_one_batch.computed) == (2, 2) and after_one_batch.images_per_s > 0
    assert after_one_batch.seconds_left is not None
    steps.close()  # the learner pressed Stop
    embedder.calls.clear()
    _, last = run_extraction(embedder, photos[:5], EmbeddingCache(embedder.key, tmp_path), batch_size=2)
    assert sum(embedder.calls) == 3 and last.computed == 3 and last.fraction == 1.0


def test_private_cache_writes_nothing_and_content_is_the_key(photos, tmp_path):
    embedder = _tiny_embedder()
    cache = EmbeddingCache(embedder.key, tmp_path, persist=False)
    run_extraction(embedder, photos[:2], cache)
    assert len(cache) == 2 and not any(tmp_path.rglob("*.npz"))
    copy = tmp_path / "renamed.jpg"
    shutil.copy(photos[0].path, copy)
    assert sample_digest(Sample("renamed.jpg", 0, str(copy))) == sample_digest(photos[0])
    in_memory = Sample("x", 0, image=np.zeros((4, 4, 3), np.uint8))
    assert sample_digest(in_memory) != sample_digest(Sample("x", 0, image=np.ones((4, 4, 3), np.uint8)))


def test_views_are_the_mirror_and_the_full_frame_each_under_its_own_key():
    base = _tiny_embedder()
    views = view_embedders(base, 4)
    assert views[0] is base and len({v.key for v in views}) == 4
    assert [(v.crop_fraction, v.mirror) for v in views] == [(0.875, False), (0.875, True), (1.0, False), (1.0, True)]
    assert [v.view for v in views] == ["centre 87.5% crop", "centre 87.5% crop, mirrored", "full frame",
                                       "full frame, mirrored"]
    image = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    np.testing.assert_array_equal(views[1].prepare(image), views[0].prepare(image)[:, ::-1])
    assert [v.key for v in view_embedders(base, 2)] == [v.key for v in views[:2]]
    assert view_embedders(base, 1) == (base,)
    with pytest.raises(ValueError, match="views must be one of"):
        view_embedders(base, 3)


def test_extra_views_skip_unreadable_photos_and_line_up_row_for_row(photos, tmp_path):
    embedder = _tiny_embedder()
    steps = list(extract_views(embedder, photos, 4, lambda e: EmbeddingCache(e.key, tmp_path), batch_size=2))
    result = steps[-1].result
    assert [s.view_index for s in steps[:-1]] == sorted(s.view_index for s in steps[:-1])
    assert {s.view_count for s in steps} == {4} and steps[-2].view == "full frame, mirrored"
    assert result.features.shape == (5, 4) and len(result.views) == 3
    assert [name for name, _ in result.failed] == ["truncated.jpg"]
    mirrored = Embedder("x", embedder.model, 8, mirror=True)
    again, _ = run_extraction(mirrored, [photos[k] for k in (3, 1)], EmbeddingCache("x", tmp_path / "m"))
    np.testing.assert_allclose(result.views[0][[3, 1]], again.features, rtol=1e-5, atol=1e-6)
    assert not np.allclose(result.views[0], result.features)


def test_training_uses_every_view_and_validation_the_deployed_one(photos, tmp_path):
    dataset = load_folder(Path(photos[0].path).parent.parent, "species")
    embeddings, _ = run_extraction(_tiny_embedder(), dataset.samples[::25], EmbeddingCache("t", tmp_path), views=2)
    data = prepare_data(replace(dataset, samples=dataset.samples[::25]), embeddings, 0.5, 0)
    train_x, train_y = data.train
    rows = data.split.train
    np.testing.assert_array_equal(train_x, np.concatenate([embeddings.features[rows], embeddings.views[0][rows]]))
    np.testing.assert_array_equal(train_y, np.tile(data.labels[rows], 2))
    np.testing.assert_array_equal(data.val[0], embeddings.features[data.split.val])
    assert len(list((tmp_path).glob("*"))) == 2  # the mirrored view is cached beside the given cache
    private = EmbeddingCache("p", tmp_path / "private", persist=False)
    run_extraction(_tiny_embedder(), dataset.samples[::50], private, views=4)
    assert not (tmp_path / "private").exists()  # a private cache's extra views stay in memory too


def _separable(n_per_class=30, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per_class)
    x = rng.normal(0, 0.3, (len(labels), 8)).astype(np.float32)
    x[np.arange(len(labels)), labels] += 2.0
    return x, labels


def test_head_learns_and_streams_every_epoch():
    x, y = _separable()
    records = []
    trained = train_head(x[::2], y[::2], 3, x[1::2], y[1::2], HeadSettings(epochs=15, learning_rate=0.05),
                         on_epoch=records.append)
    assert [r.epoch for r in records] == list(range(1, 16))
    assert set(records[0].logs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert trained.history["val_accuracy"][-1] == 1.0
    assert len(trained.history["loss"]) == 15 and trained.stopped_by == ""
    assert np.mean(np.argmax(trained.head.predict(x[1::2], verbose=0), 1) == y[1::2]) == 1.0


def test_stop_ends_cleanly_with_the_best_weights():
    x, y = _separable()
    records = []
    trained = train_head(x[::2], y[::2], 3, x[1::2], y[1::2], HeadSettings(epochs=50, learning_rate=0.05),
                         on_epoch=records.append, should_stop=lambda: len(records) >= 4)
    assert len(trained.history["loss"]) == 4 and trained.stopped_by == "stop button"
    best = trained.best_epoch
    assert trained.history["val_loss"][best - 1] == min(trained.history["val_loss"])
    for kept, saved in zip(trained.head.get_weights(), records[-1].best_weights):
        np.testing.assert_array_equal(kept, saved)


def test_early_stopping_and_seed_reproducibility():
    x, y = _separable()
    settings = HeadSettings(epochs=8, learning_rate=0.01, hidden_units=16, dropout=0.2, seed=7)
    first = train_head(x[::2], y[::2], 3, x[1::2], y[1::2], settings)
    again = train_head(x[::2], y[::2], 3, x[1::2], y[1::2], settings)
    np.testing.assert_allclose(first.history["loss"], again.history["loss"], rtol=1e-5)
    flat = train_head(x, y, 3, settings=HeadSettings(epochs=100, learning_rate=1e-4, early_stopping=1))
    assert flat.history.keys() == {"loss", "accuracy"}
    with pytest.raises(ValueError, match="learning rate"):
        HeadSettings(learning_rate=0)


def test_evaluation_exact_values():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.05, 0.9, 0.05]])
    labels = [0, 1, 1, 2, 0]
    ev = evaluate_probs(probs, labels, ("a", "b", "c"))
    assert ev.accuracy == pytest.approx(0.6) and ev.count == 5
    assert ev.per_class == {"a": 0.5, "b": 0.5, "c": 1.0}
    assert ev.confusion.tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert ev.as_dict()["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[1, 1, 0], [1, 1, 0], [0, 0, 1]]}
    losses = top_losses(probs, labels)
    assert [loss.index for loss in losses] == [4, 2]  # p_true 0.05 is worse than 0.3
    assert losses[0].predicted == 1 and losses[0].prob_predicted == pytest.approx(0.9)
    assert confusion_matrix([0, 0], [1, 1], 2).tolist() == [[0, 2], [0, 0]]


def test_saved_model_is_pixels_to_probabilities_with_class_names(photos, tmp_path):
    embedder = _tiny_embedder()
    embeddings, _ = run_extraction(embedder, photos[:5], EmbeddingCache(embedder.key, tmp_path))
    labels = np.array([0, 1, 0, 1, 0])
    trained = train_head(embeddings.features, labels, 2, settings=HeadSettings(epochs=2))
    model = export_model(embedder.model, trained.head, ["cat", "dog"])
    path = tmp_path / "model.keras"
    path.write_bytes(keras_bytes(model, ["cat", "dog"]))
    loaded = keras.saving.load_model(path)
    assert {type(layer).__name__ for layer in loaded.layers} == {"InputLayer", "Functional"}
    assert load_model_file(path)[1] == ["cat", "dog"]
    pixels = np.stack([embedder.prepare(np.full((20, 30, 3), v, np.uint8)) for v in (0, 128, 255)])
    np.testing.assert_allclose(loaded(pixels.astype(np.float32)), model(pixels.astype(np.float32)), atol=1e-6)
    np.testing.assert_allclose(predict_probs(loaded, [np.full((20, 30, 3), 128, np.uint8)])[0].sum(), 1.0, atol=1e-5)
    head_probs = trained.head.predict(embeddings.features, verbose=0)
    from core.data.images import load_image_file

    full = predict_probs(loaded, [load_image_file(p.path) for p in photos[:5]])
    np.testing.assert_allclose(full, head_probs, atol=1e-5)


@pytest.mark.real_backbone
def test_real_lite0_on_pets_mini_and_cli_contracts(shared_data, lite0, tmp_path, capsys):
    from core.data.embeddings import embedder_for

    dataset = limit_per_class(load_folder(shared_data / "pets-mini", "species"), 20, seed=0)
    embeddings, _ = run_extraction(embedder_for(lite0), dataset.samples)
    data = prepare_data(dataset, embeddings, 0.25, seed=0)
    trained = train_head(*data.train, 2, *data.val, settings=HeadSettings(epochs=15))
    val_x, val_y = data.val
    assert evaluate_probs(trained.head.predict(val_x, verbose=0), val_y, dataset.classes).accuracy >= 0.9

    model_path = tmp_path / "species.keras"
    assert main(["train", "--data", str(shared_data / "pets-mini"), "--task", "species", "--per-class", "20",
                 "--epochs", "15", "--seed", "0", "--views", "2", "--out", str(model_path), "--json"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert set(result) == {"classes", "train_count", "val_count", "views", "val_accuracy", "history", "seconds"}
    assert result["views"] == 2 and "embeddings view 2/2 (centre 87.5% crop, mirrored)" in out.err
    assert result["classes"] == ["cat", "dog"] and result["train_count"] + result["val_count"] == 40
    assert set(result["history"]) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert len(result["history"]["loss"]) == 15 and result["val_accuracy"] >= 0.9

    singles = sorted(str(p) for p in (shared_data / "singles").glob("*_*.jpg") if p.name.startswith(("cat", "dog")))
    assert main(["predict", "--model", str(model_path), *singles, "--top", "1", "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)
    assert [r["predictions"][0]["label"] for r in predictions] == [Path(f).name.split("_")[0] for f in singles]

    folder = tmp_path / "eval"
    for name, pattern in (("cat", "cat/Bengal_1*.jpg"), ("dog", "dog/beagle_*.jpg"), ("rabbit", "cat/Sphynx_*.jpg")):
        (folder / name).mkdir(parents=True)
        for photo in sorted((shared_data / "pets-mini").glob(pattern))[:3]:
            shutil.copy(photo, folder / name)
    assert main(["evaluate", "--model", str(model_path), "--data", str(folder), "--task", "folders", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 6 and report["unknown_classes"] == {"rabbit": 3}
    assert report["confusion"]["labels"] == ["cat", "dog"] and np.sum(report["confusion"]["matrix"]) == 6
    assert set(report["per_class"]) == {"cat", "dog"} and report["accuracy"] >= 5 / 6


def test_cli_train_reports_bad_data_clearly(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--task", "folders", "--out", "m.keras"]) == 2
    assert "neither a folder" in capsys.readouterr().err


def test_two_sessions_training_at_once_get_what_each_gets_alone():
    import random
    import threading

    x, y = _separable()
    runs = {7: HeadSettings(epochs=6, learning_rate=0.01, hidden_units=16, dropout=0.3, seed=7),
            11: HeadSettings(epochs=6, learning_rate=0.02, hidden_units=16, dropout=0.3, seed=11)}
    alone = {seed: train_head(x, y, 3, settings=s).history["loss"] for seed, s in runs.items()}
    python_state, numpy_state = random.getstate(), np.random.get_state()[1].copy()
    together, start = {}, threading.Barrier(len(runs))

    def session(seed):
        start.wait()
        together[seed] = train_head(x, y, 3, settings=runs[seed]).history["loss"]

    threads = [threading.Thread(target=session, args=(seed,)) for seed in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in runs:
        np.testing.assert_allclose(together[seed], alone[seed], rtol=1e-5)
    # Training reseeds nothing process-wide: other sessions' random streams are untouched.
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


def _embedding_of_tiny_backbone() -> keras.Model:
    tiny = make_tiny_model()
    return keras.Model(tiny.input, tiny.get_layer("avg_pool").output, name="tiny_embedding")


def test_assembling_never_adds_to_the_shared_backbone_and_keeps_the_first_models_objective():
    from core.transfer.model import assemble, build_head
    from core.visualise.scorers import probabilities_scorer

    shared = _embedding_of_tiny_backbone()
    nodes = (len(shared._inbound_nodes), len(shared._outbound_nodes),
             [len(layer._inbound_nodes) for layer in shared.layers])
    first = assemble(shared, build_head(4, 2, seed=1), ["a", "b"])
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    score, kind = probabilities_scorer(first)
    before = np.asarray(score(pixels)[0])
    assemble(shared, build_head(4, 3, seed=2), ["a", "b", "c"])  # a second training in another session
    score_again, kind_again = probabilities_scorer(first)
    assert (kind, kind_again) == ("logit", "logit")
    np.testing.assert_array_equal(np.asarray(score_again(pixels)[0]), before)
    assert (len(shared._inbound_nodes), len(shared._outbound_nodes),
            [len(layer._inbound_nodes) for layer in shared.layers]) == nodes
    np.testing.assert_allclose(first.predict(pixels, verbose=0).sum(axis=1), 1.0, rtol=1e-5)
