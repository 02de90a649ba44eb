"""Fitting a model: tf.data input pipeline, class weighting and callbacks (recipes: trainer/recipe.py)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from trainer.augment import augment_fn
from trainer.info import NUM_CLASSES
from trainer.keras_backend import keras, tf
from trainer.models.efficientnet_lite import BACKBONE_PREFIX
from trainer.recipe import Recipe


@dataclass
class TrainingResult:
    """What fitting produced besides the weights."""

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    best_val_balanced_accuracy: float = 0.0
    seconds: float = 0.0
    images_per_second: float = 0.0


def class_weights(labels: np.ndarray, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: inverse frequency, its square root, or none; mean weight 1 over samples."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(float)
    raw = np.where(counts > 0, len(labels) / (NUM_CLASSES * np.maximum(counts, 1)), 0.0)
    raw = np.sqrt(raw) if mode == "sqrt-weights" else raw
    raw /= (raw[labels]).mean()
    return {i: float(w) for i, w in enumerate(raw)}


def make_dataset(images: np.ndarray, labels: np.ndarray, recipe: Recipe, training: bool, seed: int) -> tf.data.Dataset:
    """uint8 arrays to batched float32 (0..255) tensors; shuffled and augmented on the fly when training."""
    targets = np.eye(NUM_CLASSES, dtype=np.float32)[labels] if recipe.seed_config else labels
    data = tf.data.Dataset.from_tensor_slices((images, targets))
    if training:
        data = data.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    if training and recipe.augment != "none":
        augment = augment_fn(seed, dermoscopy=recipe.augment == "dermoscopy")
        data = data.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(recipe.batch_size).prefetch(tf.data.AUTOTUNE)


class BalancedAccuracyMonitor(keras.callbacks.Callback):
    """Adds ``val_balanced_accuracy`` to the logs and keeps the best weights seen across fits."""

    def __init__(self, validation: tf.data.Dataset, labels: np.ndarray) -> None:
        super().__init__()
        self.validation, self.labels = validation, labels
        self.best, self.best_epoch, self.best_weights, self.epochs_seen = -1.0, 0, None, 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probabilities = self.model.predict(self.validation, verbose=0)
        score = float(balanced_accuracy_score(self.labels, probabilities.argmax(axis=1)))
        self.epochs_seen += 1
        if logs is not None:
            logs["val_balanced_accuracy"] = score
        if score > self.best:
            self.best, self.best_epoch, self.best_weights = score, self.epochs_seen, self.model.get_weights()
        print(f"  val_balanced_accuracy {score:.4f} (best {self.best:.4f} at epoch {self.best_epoch})")


def _set_backbone_trainable(model: keras.Model, trainable: bool, train_batch_norm: bool = False) -> None:
    """Freeze/unfreeze the pretrained trunk; its batch norms stay frozen (inference mode) unless asked."""
    for layer in model.layers:
        if layer.name.startswith(BACKBONE_PREFIX):
            is_bn = isinstance(layer, keras.layers.BatchNormalization)
            layer.trainable = trainable and (train_batch_norm or not is_bn)


def _compile(model: keras.Model, recipe: Recipe, learning_rate, seed_config: bool) -> None:
    if seed_config:
        optimizer = keras.optimizers.legacy.RMSprop(learning_rate=recipe.learning_rate, decay=1e-6)
        loss = "categorical_crossentropy"
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
        loss = "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def _merge_history(total: dict[str, list[float]], history: keras.callbacks.History) -> None:
    for key, values in history.history.items():
        total.setdefault(key, []).extend(float(v) for v in values)


def train_model(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    recipe: Recipe,
    log_dir: Path,
    seed: int = 0,
) -> TrainingResult:
    """Fit ``model`` in place (best validation balanced-accuracy weights restored) and return its history."""
    keras.utils.set_random_seed(seed)
    train_data = make_dataset(*train, recipe, training=True, seed=seed)
    val_data = make_dataset(*validation, recipe, training=False, seed=seed)
    weights = class_weights(train[1], recipe.imbalance)
    monitor = BalancedAccuracyMonitor(make_dataset(validation[0], validation[1], recipe, False, seed), validation[1])
    log_dir.mkdir(parents=True, exist_ok=True)
    csv_log = keras.callbacks.CSVLogger(str(log_dir / "training_log.csv"), append=True)
    verbose = 1 if sys.stdout.isatty() else 2
    result, started = TrainingResult(), time.perf_counter()
    has_backbone = any(layer.name.startswith(BACKBONE_PREFIX) for layer in model.layers)

    if has_backbone and recipe.head_epochs:
        _set_backbone_trainable(model, False)
        _compile(model, recipe, recipe.head_learning_rate, recipe.seed_config)
        history = model.fit(
            train_data,
            validation_data=val_data,
            epochs=recipe.head_epochs,
            class_weight=weights,
            callbacks=[monitor, csv_log],
            verbose=verbose,
        )
        _merge_history(result.history, history)
    if has_backbone:
        _set_backbone_trainable(model, True, recipe.train_batch_norm)
    main_epochs = recipe.epochs - (recipe.head_epochs if has_backbone else 0)
    if main_epochs > 0:
        steps = main_epochs * int(np.ceil(len(train[1]) / recipe.batch_size))
        schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps, alpha=0.01)
        _compile(model, recipe, recipe.learning_rate if recipe.seed_config else schedule, recipe.seed_config)
        stop = keras.callbacks.EarlyStopping(monitor="val_balanced_accuracy", mode="max", patience=recipe.patience)
        history = model.fit(
            train_data,
            validation_data=val_data,
            epochs=main_epochs,
            class_weight=weights,
            callbacks=[monitor, csv_log, stop],
            verbose=verbose,
        )
        _merge_history(result.history, history)

    if monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)
    result.seconds = time.perf_counter() - started
    result.best_epoch, result.best_val_balanced_accuracy = monitor.best_epoch, monitor.best
    result.images_per_second = monitor.epochs_seen * len(train[1]) / max(result.seconds, 1e-9)
    return result
