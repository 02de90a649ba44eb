"""Training recipes: the hyper-parameters of a run, per architecture (no TensorFlow needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from trainer.augment_modes import AUGMENT_ALIASES

IMBALANCE_MODES = ("sqrt-weights", "weights", "none")
CONFIGS = ("default", "baseline")
CONFIG_ALIASES = {"seed": "baseline"}  # deprecated spelling


@dataclass(frozen=True)
class Recipe:
    """Everything that shapes the trained weights; ``trainer build`` flags override single fields."""

    arch: str = "efficientnet-lite0"
    upsample: float = 1.0
    colour_constancy: str = "none"  # or "shades-of-gray": a normalisation layer at the model's input
    epochs: int = 12
    head_epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 3e-4
    head_learning_rate: float = 1e-3
    imbalance: str = "sqrt-weights"
    patience: int = 5
    baseline_config: bool = False
    augment: str = "device"
    train_batch_norm: bool = False
    clinical_repeats: int = 1  # times each clinical close-up appears in a training epoch
    teacher_weight: float = 0.0  # share of a teacher's probabilities in each training target (distillation)


def recipe_for(arch: str, config: str = "default") -> Recipe:
    """The default recipe of an architecture, or the baseline project's recipe (``--config baseline``)."""
    if CONFIG_ALIASES.get(config, config) == "baseline":
        return Recipe(
            arch=arch,
            epochs=20,
            head_epochs=0,
            batch_size=10,
            learning_rate=1e-4,
            imbalance="none",
            patience=1000,
            baseline_config=True,
            augment="none",
        )
    if arch == "efficientnet-lite0":
        return Recipe(arch=arch, upsample=1.5, epochs=14, head_epochs=2, learning_rate=1e-4, patience=5)
    return Recipe(arch=arch, epochs=30, head_epochs=0, learning_rate=2e-3, patience=8)


def with_overrides(recipe: Recipe, **overrides) -> Recipe:
    """``recipe`` with the given fields replaced (``None`` values ignored); head epochs fit inside ``epochs``."""
    recipe = replace(recipe, **{name: value for name, value in overrides.items() if value is not None})
    return replace(
        recipe,
        head_epochs=min(recipe.head_epochs, max(0, recipe.epochs - 1)),
        augment=AUGMENT_ALIASES.get(recipe.augment, recipe.augment),
    )
