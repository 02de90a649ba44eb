"""Training recipes: the hyper-parameters of a run, per architecture (no TensorFlow needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass

IMBALANCE_MODES = ("sqrt-weights", "weights", "none")
AUGMENT_MODES = ("dermoscopy", "seed", "none")


@dataclass
class Recipe:
    """Hyper-parameters of one training run."""

    epochs: int = 12
    head_epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 3e-4
    head_learning_rate: float = 1e-3
    imbalance: str = "sqrt-weights"
    patience: int = 5
    seed_config: bool = False
    augment: str = "dermoscopy"
    train_batch_norm: bool = False


def recipe_for(arch: str, epochs: int | None, seed_config: bool) -> Recipe:
    """The default recipe of an architecture, with ``--epochs`` and ``--config seed`` applied."""
    if seed_config:
        recipe = Recipe(
            epochs=20,
            head_epochs=0,
            batch_size=10,
            learning_rate=1e-4,
            imbalance="none",
            patience=1000,
            seed_config=True,
            augment="none",
        )
    elif arch == "efficientnet-lite0":
        recipe = Recipe(epochs=28, head_epochs=2, learning_rate=1e-4, patience=10)
    else:
        recipe = Recipe(epochs=30, head_epochs=0, learning_rate=2e-3, patience=8)
    if epochs is not None:
        recipe.epochs = epochs
        recipe.head_epochs = min(recipe.head_epochs, max(0, epochs - 1))
    return recipe
