"""Fitting a model: tf.data input pipeline, class weighting, callbacks and resuming (recipes: trainer/recipe.py).

``train_model`` fits under whatever ``tf.distribute`` strategy the network was built in (trainer/distribute.py):
the recipe's batch is per replica, the global batch and learning rate grow with the replica count.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from trainer.augment import augment_fn, batch_geometry_fn
from trainer.augment_modes import AUGMENT_ALIASES
from trainer.distribute import Scaling, describe, is_chief, scaling
from trainer.info import NUM_CLASSES
from trainer.keras_backend import keras, tf
from trainer.models.heads import Network
from trainer.progress import (
    BEST_WEIGHTS,
    HEAD_WEIGHTS,
    Progress,
    ProgressRecorder,
    ResumableEarlyStopping,
    fingerprint,
)
from trainer.recipe import Recipe

BACKUP_FOLDER = "backup"  # in the log folder: Keras backups and progress.json, for --resume


@dataclass
class TrainingResult:
    """What fitting produced besides the weights."""

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    best_val_balanced_accuracy: float = 0.0
    seconds: float = 0.0
    images_per_second: float = 0.0
    distribution: dict = field(default_factory=dict)  # strategy, replicas, global batch, scaled learning rate
    trained_by: dict = field(default_factory=dict)  # a trainer outside Keras: script, device, teacher, recipe


def class_weights(labels: np.ndarray, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: inverse frequency, its square root, or none; mean weight 1 over samples."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(float)
    raw = np.where(counts > 0, len(labels) / (NUM_CLASSES * np.maximum(counts, 1)), 0.0)
    raw = np.sqrt(raw) if mode == "sqrt-weights" else raw
    raw /= (raw[labels]).mean()
    return {i: float(w) for i, w in enumerate(raw)}


def uses_dense_targets(recipe: Recipe) -> bool:
    """Whether targets are rows of class probabilities (categorical loss) rather than class indices."""
    return recipe.baseline_config or recipe.teacher_weight > 0


def training_targets(labels: np.ndarray, recipe: Recipe, teacher: np.ndarray | None = None) -> np.ndarray:
    """Class indices, or one-hot rows blended with a teacher's probabilities by ``recipe.teacher_weight``.

    The true class keeps the largest share of a blended row (the weight is below 0.5), so Keras's
    ``class_weight``, which weighs a row by its argmax, still weighs it by its true class.
    """
    if not uses_dense_targets(recipe):
        return labels
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    if teacher is None:
        return one_hot
    return ((1.0 - recipe.teacher_weight) * one_hot + recipe.teacher_weight * teacher).astype(np.float32)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    recipe: Recipe,
    training: bool,
    seed: int,
    batch_size: int | None = None,
    teacher: np.ndarray | None = None,
) -> tf.data.Dataset:
    """uint8 arrays to batched float32 (0..255) tensors; shuffled and augmented on the fly when training.

    ``teacher``: a distillation teacher's probabilities for these images, blended into the targets.

    ``batch_size`` is the global batch (default: the recipe's). Under a multi-worker strategy every
    worker holds the same arrays and shuffles with the same seed; sharding by element (``DATA``) then
    gives each worker its own part of every global batch.
    """
    data = tf.data.Dataset.from_tensor_slices((images, training_targets(labels, recipe, teacher)))
    if training:
        data = data.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    augment = augment_fn(seed, recipe.augment) if training else None
    if augment is not None:
        data = data.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    data = data.batch(batch_size or recipe.batch_size)
    if training and AUGMENT_ALIASES.get(recipe.augment, recipe.augment) == "device":
        data = data.map(batch_geometry_fn(seed), num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.prefetch(tf.data.AUTOTUNE).with_options(options)


class BalancedAccuracyMonitor(keras.callbacks.Callback):
    """Adds ``val_balanced_accuracy`` to the logs and keeps the best weights seen across fits.

    Every replica and worker holds the same weights, so each predicts the whole validation set itself
    (outside the strategy's sharding): the score is over all validation images, in order, and identical
    on every worker, which keeps their early stopping in step.
    """

    def __init__(self, validation: tf.data.Dataset, labels: np.ndarray) -> None:
        super().__init__()
        self.validation, self.labels = validation, labels
        self.best, self.best_epoch, self.best_weights, self.epochs_seen = -1.0, 0, None, 0
        self.offset = 0  # epochs of earlier fits, so that epochs count across the head and main phases
        self._predict = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._predict is None:
            self._predict = tf.function(lambda images: self.model(images, training=False), reduce_retracing=True)
        probabilities = np.concatenate([self._predict(images).numpy() for images, _ in self.validation])
        score = float(balanced_accuracy_score(self.labels, probabilities.argmax(axis=1)))
        self.epochs_seen = self.offset + epoch + 1
        if logs is not None:
            logs["val_balanced_accuracy"] = score
        if score > self.best:
            self.best, self.best_epoch, self.best_weights = score, self.epochs_seen, self.model.get_weights()
        print(f"  val_balanced_accuracy {score:.4f} (best {self.best:.4f} at epoch {self.best_epoch})")


def _set_backbone_trainable(backbone: list, trainable: bool, train_batch_norm: bool = False) -> None:
    """Freeze/unfreeze the pretrained trunk; its batch norms stay frozen (inference mode) unless asked."""
    for layer in backbone:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable and (train_batch_norm or not is_bn)


def _compile(model: keras.Model, recipe: Recipe, learning_rate) -> None:
    if recipe.baseline_config:
        optimizer = keras.optimizers.legacy.RMSprop(learning_rate=learning_rate, decay=1e-6)
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    loss = "categorical_crossentropy" if uses_dense_targets(recipe) else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def train_model(
    network: Network,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    recipe: Recipe,
    log_dir: Path,
    seed: int = 0,
    resume: bool = False,
    teacher: np.ndarray | None = None,
) -> TrainingResult:
    """Fit ``network.model`` in place (best validation balanced-accuracy weights restored); return its history.

    ``teacher``: a distillation teacher's probabilities for the training images, in their order.

    Build the network inside the strategy's scope to train distributed. Each epoch is backed up in
    ``log_dir/backup``; ``resume`` goes on from there (a run without it starts afresh).
    """
    model, backbone = network.model, network.backbone
    strategy = model.distribute_strategy
    scale = scaling(strategy.num_replicas_in_sync, recipe.batch_size, recipe.learning_rate)
    print(f"training on {scale.describe()}")
    keras.utils.set_random_seed(seed)
    train_data = make_dataset(*train, recipe, training=True, seed=seed, batch_size=scale.global_batch, teacher=teacher)
    val_data = make_dataset(*validation, recipe, training=False, seed=seed, batch_size=scale.global_batch)
    weights = class_weights(train[1], recipe.imbalance)
    chief = is_chief(strategy)
    key = fingerprint(recipe, train[1], len(validation[1]), seed, scale.global_batch)
    progress = Progress.start(log_dir / BACKUP_FOLDER, key, resume, writes=chief)
    monitor = _resumed_monitor(BalancedAccuracyMonitor(val_data, validation[1]), progress)
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = [keras.callbacks.CSVLogger(str(log_dir / "training_log.csv"), append=True)] if chief else []
    verbose = 1 if sys.stdout.isatty() else 2
    fit_args = {"validation_data": val_data, "class_weight": weights, "verbose": verbose}

    head_epochs = recipe.head_epochs if backbone else 0
    if head_epochs and progress.phase == "head":
        _set_backbone_trainable(backbone, False)
        _compile(model, recipe, recipe.head_learning_rate * scale.replicas)
        recorder = ProgressRecorder(progress, monitor, None, offset=0, then="main")
        model.fit(
            train_data, epochs=head_epochs, callbacks=[monitor, recorder, *logs, progress.backup("head")], **fit_args
        )
    progress.enter("main")
    if backbone:
        _set_backbone_trainable(backbone, True, recipe.train_batch_norm)
    main_epochs = recipe.epochs - head_epochs
    if main_epochs > 0 and progress.phase == "main":
        head_weights = progress.load_weights(HEAD_WEIGHTS) if progress.resumed else None
        if head_weights:
            model.set_weights(head_weights)  # the fit's own backup, if any, comes on top
        _compile(model, recipe, _main_learning_rate(recipe, scale, main_epochs, len(train[1])))
        monitor.offset = head_epochs
        stop = ResumableEarlyStopping(
            progress.stopping, monitor="val_balanced_accuracy", mode="max", patience=recipe.patience
        )
        recorder = ProgressRecorder(progress, monitor, stop, offset=head_epochs, then="done")
        callbacks = [monitor, stop, recorder, *logs, progress.backup("main")]
        model.fit(train_data, epochs=main_epochs, callbacks=callbacks, **fit_args)
    progress.enter("done")

    if monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)
    return _result(progress, monitor, scale, describe(strategy), len(train[1]))


def _resumed_monitor(monitor: BalancedAccuracyMonitor, progress: Progress) -> BalancedAccuracyMonitor:
    """``monitor`` with the best score and weights of the runs ``progress`` resumes."""
    best_weights = progress.load_weights(BEST_WEIGHTS) if progress.resumed else None
    if best_weights:
        monitor.best, monitor.best_epoch, monitor.best_weights = progress.best, progress.best_epoch, best_weights
    return monitor


def _main_learning_rate(recipe: Recipe, scale: Scaling, epochs: int, images: int):
    """The fine-tuning learning rate: scaled, and cosine-decayed over the phase's steps (except baseline)."""
    if recipe.baseline_config:
        return scale.learning_rate
    steps = epochs * int(np.ceil(images / scale.global_batch))
    return keras.optimizers.schedules.CosineDecay(scale.learning_rate, steps, alpha=0.01)


def _result(
    progress: Progress, monitor: BalancedAccuracyMonitor, scale: Scaling, strategy: dict, images: int
) -> TrainingResult:
    seconds = progress.clock()
    return TrainingResult(
        history=progress.history,
        best_epoch=monitor.best_epoch,
        best_val_balanced_accuracy=monitor.best,
        seconds=seconds,
        images_per_second=progress.epochs_done * images / max(seconds, 1e-9),
        distribution=strategy | asdict(scale) | {"resumed": progress.resumed},
    )
