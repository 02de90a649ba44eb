"""`trainer build` flags map onto one build plan: recipe fields overridden one by one, old spellings accepted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from trainer.cli import make_parser, plan_from_args
from trainer.recipe import recipe_for
from trainer.teacher import DEFAULT_TEACHER_WEIGHT


def _plan(*flags: str):
    return plan_from_args(make_parser().parse_args(["build", "--data", "a", *flags]))


def test_defaults_are_the_architecture_recipe():
    plan = _plan()
    assert plan.recipe == recipe_for("efficientnet-lite0") and plan.data == (Path("a"),)


def test_each_recipe_flag_overrides_only_its_field():
    plan = _plan("--epochs", "3", "--upsample", "1", "--augment", "none", "--learning-rate", "0.01")
    default = recipe_for("efficientnet-lite0")
    assert (plan.recipe.epochs, plan.recipe.upsample, plan.recipe.augment, plan.recipe.learning_rate) == (
        3,
        1.0,
        "none",
        0.01,
    )
    assert plan.recipe.imbalance == default.imbalance and plan.recipe.head_epochs == default.head_epochs
    assert _plan("--epochs", "1").recipe.head_epochs == 0  # head epochs fit inside the total
    assert _plan("--clinical-repeats", "3").recipe == replace(default, clinical_repeats=3)


def test_a_teacher_brings_its_default_weight_into_the_recipe():
    plan = _plan("--teacher", "teacher")
    assert plan.teacher == Path("teacher") and plan.recipe.teacher_weight == DEFAULT_TEACHER_WEIGHT
    assert _plan("--teacher", "t", "--teacher-weight", "0.2").recipe.teacher_weight == 0.2
    assert _plan().recipe.teacher_weight == 0.0 and _plan().teacher is None


def test_data_is_repeatable_and_build_fields_reach_the_plan():
    plan = _plan("--data", "b", "--holdout-source", "rosendahl", "--seed", "4", "--quantize", "float16")
    assert plan.data == (Path("a"), Path("b"))
    assert (plan.holdout_source, plan.seed, plan.quantization) == ("rosendahl", 4, "float16")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (("--config", "seed"), ("--config", "baseline")),
        (("--arch", "seed-cnn"), ("--arch", "baseline-cnn")),
        (("--augment", "seed"), ("--augment", "baseline")),
    ],
)
def test_deprecated_seed_spellings_mean_the_baseline(old, new):
    assert _plan(*old).recipe == _plan(*new).recipe


def test_baseline_config_is_the_baseline_projects_recipe():
    recipe = _plan("--arch", "baseline-cnn", "--config", "baseline").recipe
    assert recipe.baseline_config and recipe.batch_size == 10 and recipe.augment == "none"
    assert recipe.arch == "baseline-cnn"
