"""``python -m benchmarks.scaling``: training images/s of compact-cnn on 1 device vs mirrored over N CPU devices.

Prints the "Scaling" section of docs/benchmarks.md. Same global batch on both, the training input
pipeline of ``trainer build`` (shuffle, augmentation, batching), steady-state epochs only (the first
epoch, which traces the graphs, is left out); configurations alternate over the rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from trainer.distribute import strategy_for


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--images", type=int, default=448, help="generated training images (default: 448)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run; the first is not timed (default: 4)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per configuration (default: 3)")
    parser.add_argument("--replicas", type=int, default=2, help="logical CPU devices to mirror over (default: 2)")
    parser.add_argument("--global-batch", type=int, default=32, help="global batch of both (default: 32)")
    return parser.parse_args()


def epoch_seconds(strategy, images: np.ndarray, labels: np.ndarray, global_batch: int, epochs: int) -> list[float]:
    """Seconds of each epoch after the first, training a fresh compact-cnn under ``strategy``."""
    from trainer.keras_backend import keras
    from trainer.models import build_network
    from trainer.recipe import recipe_for
    from trainer.train import make_dataset

    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    recipe = recipe_for("compact-cnn")
    with strategy.scope():
        model = build_network("compact-cnn").model
        model.compile(keras.optimizers.Adam(recipe.learning_rate), "sparse_categorical_crossentropy")
    data = make_dataset(images, labels, recipe, training=True, seed=0, batch_size=global_batch)
    model.fit(data, epochs=epochs, callbacks=[Timer()], verbose=0)
    return times[1:]


def main() -> None:
    args = parse_args()
    mirrored = strategy_for("mirrored", args.replicas)
    single = strategy_for("none")
    rng = np.random.default_rng(0)
    labels = np.arange(args.images) % 7
    images = rng.integers(0, 256, (args.images, 75, 100, 3), dtype=np.uint8)
    rates: dict[str, list[float]] = {"1 device": [], f"mirrored, {args.replicas} CPU devices": []}
    configurations = list(zip(rates, (single, mirrored)))
    load_before = os.getloadavg()
    for round_number in range(args.rounds):
        for name, strategy in configurations if round_number % 2 == 0 else configurations[::-1]:
            seconds = epoch_seconds(strategy, images, labels, args.global_batch, args.epochs)
            rates[name].append(args.images / statistics.median(seconds))
            print(f"round {round_number + 1}: {name}: {rates[name][-1]:.0f} images/s", flush=True)
    baseline = statistics.median(rates["1 device"])
    print(
        f"\n## Scaling\n\n`python -m benchmarks.scaling --images {args.images} --epochs {args.epochs} "
        f"--rounds {args.rounds} --replicas {args.replicas} --global-batch {args.global_batch}` on "
        f"{platform.machine()}, {os.cpu_count()} CPU cores; load average {load_before[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end. compact-cnn training images/s, global batch {args.global_batch}, "
        f"median of the steady-state epochs per run; median (min-max) over {args.rounds} runs.\n"
    )
    print("| Configuration | Training images/s | vs 1 device |\n|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} ({min(values):.0f}-{max(values):.0f}) | {median / baseline:.2f}x |")


if __name__ == "__main__":
    main()
