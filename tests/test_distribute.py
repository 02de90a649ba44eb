"""Distributed training on CPU: mirrored over 2 logical devices equals 1 device, and a 2-process multi-worker
build on 127.0.0.1 completes with only the chief writing the model folder.

Logical devices must be configured before TensorFlow starts, so these runs happen in subprocesses.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT
from tests.image_factory import write_ham_layout
from trainer.distribute import DistributeError, check_tf_config, scaling, strategy_for

# Trains a small model without batch norm or dropout (whose per-replica statistics and randomness would
# differ by design) from the same initial weights: on 1 device with batch 16 and learning rate 0.02, and
# on 2 mirrored CPU devices with 8 per replica and 0.01 (scaled x 2 = 0.02); and, as a control, on 2 devices
# without the scaling (0.02 x 2).
EQUIVALENCE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from trainer.distribute import describe, strategy_for
    from trainer.keras_backend import keras
    from trainer.models.heads import Network, image_input, softmax_output
    from trainer.recipe import Recipe
    from trainer.train import train_model

    mirrored = strategy_for("mirrored", 2)
    log_dir = Path(sys.argv[1])

    def network():
        inputs = image_input()
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.Conv2D(8, 5, strides=5, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return Network(keras.Model(inputs, softmax_output(x)))

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), [30, 20, 10, 10, 10, 10, 6])  # imbalanced: class weights matter
    images = (rng.random((len(labels), 75, 100, 3)) * 60 + labels[:, None, None, None] * 25).astype(np.uint8)
    train, validation = (images[:80], labels[:80]), (images[80:], labels[80:])
    keras.utils.set_random_seed(0)
    initial = network().model.get_weights()

    def run(strategy, batch, learning_rate, name):
        recipe = Recipe(arch="tiny", epochs=1, head_epochs=0, batch_size=batch, learning_rate=learning_rate,
                        imbalance="weights", augment="none", patience=10)
        with strategy.scope():
            net = network()
            net.model.set_weights(initial)
            result = train_model(net, train, validation, recipe, log_dir / name, seed=0)
        return net.model.get_weights(), result

    single, single_result = run(strategy_for("none"), 16, 0.02, "single")
    double, double_result = run(mirrored, 8, 0.01, "mirrored")
    unscaled, _ = run(mirrored, 8, 0.02, "unscaled")

    def max_difference(weights):
        return max(float(np.abs(a - b).max()) for a, b in zip(single, weights))

    print(json.dumps({
        "difference": max_difference(double),
        "unscaled_difference": max_difference(unscaled),
        "change": max_difference(initial),
        "losses": [single_result.history["loss"], double_result.history["loss"]],
        "distribution": double_result.distribution,
        "devices": describe(mirrored),
    }))
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tf_config_is_checked_with_clear_errors():
    with pytest.raises(DistributeError, match="needs TF_CONFIG"):
        check_tf_config(None)
    with pytest.raises(DistributeError, match="not valid JSON"):
        check_tf_config("{cluster")
    with pytest.raises(DistributeError, match="is not in its cluster"):
        check_tf_config(json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}))
    config = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
    assert check_tf_config(json.dumps(config)) == config


def test_cpu_replicas_need_mirrored():
    with pytest.raises(DistributeError, match="--cpu-replicas needs --distribute mirrored"):
        strategy_for("multi-worker", 2)


def test_global_batch_and_learning_rate_scale_with_replicas():
    scale = scaling(replicas=4, per_replica_batch=32, learning_rate=1e-4)
    assert (scale.global_batch, scale.learning_rate) == (128, pytest.approx(4e-4))
    assert "global batch 128 (32 per replica)" in scale.describe()


def test_mirrored_on_two_cpu_devices_trains_the_same_weights_as_one_device(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", EQUIVALENCE_SCRIPT, str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    print(facts)
    assert facts["devices"] == {"mode": "mirrored", "strategy": "MirroredStrategy", "replicas": 2}
    distribution = facts["distribution"]
    assert (distribution["global_batch"], distribution["per_replica_batch"]) == (16, 8)
    assert distribution["learning_rate"] == pytest.approx(0.02)
    assert facts["change"] > 1e-2, "training should move the weights"
    assert facts["difference"] < 1e-4 * max(1.0, facts["change"])
    assert facts["unscaled_difference"] > 100 * facts["difference"], "the control run should differ"
    assert facts["losses"][0] == pytest.approx(facts["losses"][1], rel=1e-4)


def test_two_worker_build_on_loopback_completes_and_only_the_chief_exports(tmp_path):
    data = write_ham_layout(tmp_path / "ham", per_class=10)
    addresses = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
    processes, outs = [], [tmp_path / "chief_model", tmp_path / "worker_model"]
    for index, out in enumerate(outs):
        config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        env = os.environ | {"TF_CONFIG": json.dumps(config)}
        command = [sys.executable, "-m", "trainer", "build", "--data", str(data), "--out", str(out)]
        command += ["--arch", "compact-cnn", "--epochs", "2", "--batch-size", "8", "--quantize", "none"]
        command += ["--distribute", "multi-worker"]
        log = (tmp_path / f"worker{index}.log").open("w")
        processes.append(subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        codes = [process.wait(timeout=500) for process in processes]
    finally:
        for process in processes:
            process.kill()
    logs = [(tmp_path / f"worker{index}.log").read_text() for index in range(2)]
    assert codes == [0, 0], "\n\n".join(log[-3000:] for log in logs)
    assert f"wrote {outs[0]}" in logs[0] and "worker done: the chief writes the model folder" in logs[1]
    assert not outs[1].exists(), "a worker other than the chief wrote a model folder"
    manifest = json.loads((outs[0] / "manifest.json").read_text())
    assert manifest["model"]["architecture"] == "compact-cnn" and (outs[0] / "model.json").is_file()
    training = json.loads((outs[0] / "report" / "metrics.json").read_text())["training"]
    assert training["epochs_run"] == 2
    distribution = training["distribution"]
    assert distribution["mode"] == "multi-worker" and distribution["workers"] == 2
    assert (distribution["replicas"], distribution["global_batch"]) == (2, 16)


def test_multi_worker_without_tf_config_fails_clearly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    command = [sys.executable, "-m", "trainer", "build", "--data", str(tmp_path), "--distribute", "multi-worker"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "needs TF_CONFIG" in result.stderr
