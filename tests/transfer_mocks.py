"""A mock EfficientNet-Lite0 for Transfer training tests: the tiny conv net under Lite0's name and input size.

Its weights checksum differs from the real one, so its embeddings never share a cache entry with Lite0's.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from core.models import backbones
from tests.conftest import make_tiny_model


def mock_lite0() -> backbones.Backbone:
    spec = replace(backbones.get_spec("efficientnet_lite0"), weights_sha256="mock-tiny-conv-net-0000",
                   embedding_layer="conv")
    return backbones.Backbone(spec, make_tiny_model(2, spec.input_size))


@contextlib.contextmanager
def mocked_backbones(monkeypatch):
    """Every backbone load (the page's shared cache, the CLI, fine-tuning's own copy) gets a fresh mock."""
    from core.work import shared

    monkeypatch.setattr(backbones, "load_backbone", lambda name="efficientnet_lite0": mock_lite0())
    monkeypatch.setattr(shared, "load_backbone", lambda name="efficientnet_lite0": mock_lite0())
    shared.clear_all()
    try:
        yield
    finally:
        shared.clear_all()  # never leave the mock in the process-wide caches
