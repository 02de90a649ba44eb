"""Architectures: shapes, the seed CNN's size, and batch-norm folding for export."""

import numpy as np
import pytest

from trainer.models import ARCHITECTURES, LOGITS_LAYER, build_model, inference_model


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_maps_an_image_to_seven_probabilities(arch):
    model = build_model(arch)
    assert model.input_shape == (None, 75, 100, 3) and model.output_shape == (None, 7)
    assert model.get_layer(LOGITS_LAYER).activation.__name__ == "linear"
    if arch == "seed-cnn":
        assert 25_000_000 < model.count_params() < 27_000_000  # ~104 MB as float32, as the seed shipped


def test_folding_batch_norms_keeps_the_function():
    model = build_model("efficientnet-lite0")
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
    folded = inference_model(model)
    assert not any("BatchNormalization" in type(layer).__name__ for layer in folded.layers)
    assert np.abs(folded.predict(images, verbose=0) - model.predict(images, verbose=0)).max() < 1e-4


def test_broken_export_is_refused():
    from trainer.export import ExportError, verify_export

    reference = np.eye(7)[np.arange(70) % 7] * 0.9 + 0.1 / 7
    verify_export(reference + 1e-6, reference, "none")
    with pytest.raises(ExportError, match="broken"):
        verify_export(np.roll(reference, 1, axis=1), reference, "uint8")
