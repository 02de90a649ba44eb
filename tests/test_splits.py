"""Splits: grouped by lesion without overlap, the baseline's split reproduced, stratified fallback."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from trainer.splits import baseline_split, grouped_split, make_split


@pytest.fixture
def lesions():
    rng = np.random.default_rng(1)
    labels = rng.choice(7, size=600, p=[0.05, 0.08, 0.11, 0.03, 0.11, 0.6, 0.02])
    groups = [f"L{i // 2 if labels[i] == 5 else i // 3}-{labels[i]}" for i in range(600)]
    return labels, groups


def test_grouped_split_keeps_each_lesion_in_one_part(lesions):
    labels, groups = lesions
    split = grouped_split(labels, groups, seed=0)
    parts = [set(np.asarray(groups)[idx]) for idx in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert sorted(np.concatenate([split.train, split.validation, split.test])) == list(range(600))
    assert 0.1 < len(split.test) / 600 < 0.2 and 0.1 < len(split.validation) / 600 < 0.2


def test_grouped_split_is_seeded(lesions):
    labels, groups = lesions
    a, b, c = grouped_split(labels, groups, 0), grouped_split(labels, groups, 0), grouped_split(labels, groups, 1)
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


def test_baseline_split_reproduces_the_seeds_train_test_split(lesions):
    labels, _ = lesions
    split = baseline_split(labels)
    _, expected_test = train_test_split(np.arange(600), test_size=0.4, random_state=101)
    assert np.array_equal(split.test, expected_test)
    assert "LEAK" in split.note


def test_baseline_split_warns_about_leakage(lesions):
    labels, groups = lesions
    with pytest.warns(UserWarning, match="leakage"):
        make_split("seed", labels, groups)


def test_no_lesion_ids_falls_back_to_stratified(lesions, capsys):
    labels, _ = lesions
    split = make_split("grouped", labels, None)
    assert split.kind == "stratified" and "falling back" in capsys.readouterr().out
    summary = split.summary(labels)
    assert sum(sum(c.values()) for c in summary["counts"].values()) == 600
