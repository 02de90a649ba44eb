"""Architectures: shapes, the baseline CNN's size, batch-norm folding and in-model upsampling for export."""

import numpy as np
import pytest

from trainer.models import ARCHITECTURES, LOGITS_LAYER, build_network


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_maps_an_image_to_seven_probabilities(arch):
    network = build_network(arch)
    model = network.model
    assert model.input_shape == (None, 75, 100, 3) and model.output_shape == (None, 7)
    assert model.get_layer(LOGITS_LAYER).activation.__name__ == "linear"
    if arch == "baseline-cnn":
        assert 25_000_000 < model.count_params() < 27_000_000  # ~104 MB as float32, as the baseline shipped
    assert all(layer in model.layers for layer in network.backbone)
    assert bool(network.backbone) == (arch == "efficientnet-lite0")


@pytest.mark.parametrize("upsample", [1.0, 1.5])
def test_folding_batch_norms_keeps_the_function(upsample):
    network = build_network("efficientnet-lite0", upsample)
    model = network.model
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    gamma * rng.uniform(0.5, 1.5, gamma.shape),
                    beta + rng.normal(0, 0.1, beta.shape),
                    mean + rng.normal(0, 0.1, mean.shape),
                    variance * rng.uniform(0.5, 2, variance.shape),
                ]
            )
    images = rng.uniform(0, 255, (4, 75, 100, 3)).astype("float32")
    folded = network.inference_model()
    assert not any("BatchNormalization" in type(layer).__name__ for layer in folded.layers)
    assert np.abs(folded.predict(images, verbose=0) - model.predict(images, verbose=0)).max() < 1e-4


def test_broken_export_is_refused():
    from trainer.export import ExportError, verify_export

    reference = np.eye(7)[np.arange(70) % 7] * 0.9 + 0.1 / 7
    verify_export(reference + 1e-6, reference)
    with pytest.raises(ExportError, match="broken"):
        verify_export(np.roll(reference, 1, axis=1), reference)


def test_upsampling_enlarges_the_input_inside_the_model_with_aligned_corners():
    from trainer.keras_backend import tf

    model = build_network("efficientnet-lite0", 1.5).model
    upsample = model.get_layer("upsample")
    assert model.input_shape == (None, 75, 100, 3) and upsample.output_shape == (None, 112, 150, 3)
    ramp = np.tile(np.arange(100, dtype="float32"), (1, 75, 1))[..., None].repeat(3, axis=-1)
    enlarged = upsample(tf.constant(ramp)).numpy()
    # Aligned corners (TF.js's Resizing): the first and last columns are the input's, the ramp stays linear.
    assert enlarged[0, 0, 0, 0] == 0 and abs(enlarged[0, 0, -1, 0] - 99) < 1e-4
    assert np.allclose(np.diff(enlarged[0, 0, :, 0]), 99 / 149, atol=1e-4)


def test_upsampling_is_refused_by_architectures_without_it():
    with pytest.raises(ValueError, match="upsample"):
        build_network("compact-cnn", 2.0)
