"""Advice tiers: thresholds chosen on validation for stated sensitivities, and the tier of one photo."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest

from trainer.decision import (
    NOT_JUDGED,
    TIER_SENSITIVITY,
    advice_decision,
    advice_rates,
    choose_thresholds,
    referral_probabilities,
    referral_rule,
    tier_for,
    tiers_by_photo_type,
)
from trainer.info import CLASSES, CODE_TO_INDEX, NUM_CLASSES

CANCER = [i for i, c in enumerate(CLASSES) if c.urgent]
BENIGN = [i for i, c in enumerate(CLASSES) if not c.urgent]


def synthetic_validation(count: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities where cancers tend to, but do not always, get more cancer probability."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, count)
    logits = rng.normal(0, 1.5, (count, NUM_CLASSES))
    logits[np.arange(count), labels] += 1.5
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probabilities.astype(np.float32)


def cancer_score(probabilities: np.ndarray) -> np.ndarray:
    return probabilities[:, CANCER].astype(np.float64).sum(axis=1)


def probabilities_with_cancer_share(share: float) -> np.ndarray:
    """Seven probabilities summing to 1 whose cancer classes sum to ``share``."""
    p = np.zeros(NUM_CLASSES)
    p[CANCER] = share / len(CANCER)
    p[BENIGN] = (1 - share) / len(BENIGN)
    return p


def test_each_tier_flags_its_target_share_of_validation_cancers_with_the_highest_such_threshold():
    labels, probabilities = synthetic_validation()
    decision = choose_thresholds(labels, probabilities)
    json.dumps(decision, allow_nan=False)
    tiers = {tier["name"]: tier for tier in decision["tiers"]}
    assert [tier["name"] for tier in decision["tiers"]] == ["urgent", "check", "routine"]
    assert decision["unsure_tier"] == "check"

    score, is_cancer = cancer_score(probabilities), np.isin(labels, CANCER)
    for name, target in TIER_SENSITIVITY.items():
        threshold = tiers[name]["min_probability"]
        sensitivity = (score[is_cancer] >= threshold).mean()
        assert sensitivity >= target and tiers[name]["validation"]["sensitivity"] == pytest.approx(sensitivity)
        assert tiers[name]["validation"]["specificity"] == pytest.approx((score[~is_cancer] < threshold).mean())
        # Any higher threshold misses the target: the threshold is no lower than it needs to be.
        assert (score[is_cancer] > threshold).mean() < target
    assert 0 < tiers["check"]["min_probability"] < tiers["urgent"]["min_probability"]
    assert tiers["check"]["validation"]["specificity"] < tiers["urgent"]["validation"]["specificity"]
    assert tiers["routine"]["min_probability"] == 0.0
    # Pages from before the tiers read the urgent threshold here.
    assert decision["urgent_probability"] == tiers["urgent"]["min_probability"]
    assert decision["validation_urgent_sensitivity"] == tiers["urgent"]["validation"]["sensitivity"]


def test_cross_source_rates_of_the_same_thresholds():
    labels, probabilities = synthetic_validation(seed=1)
    other_labels, other_probabilities = synthetic_validation(300, seed=2)
    decision = choose_thresholds(labels, probabilities, extra={"other clinic": (other_labels, other_probabilities)})
    score, is_cancer = cancer_score(other_probabilities), np.isin(other_labels, CANCER)
    for tier in decision["tiers"][:2]:
        rates = tier["cross_source"]["other clinic"]
        assert rates["sensitivity"] == pytest.approx((score[is_cancer] >= tier["min_probability"]).mean())
        assert rates["specificity"] == pytest.approx((score[~is_cancer] < tier["min_probability"]).mean())
        assert rates["cancers"] == is_cancer.sum() and rates["others"] == (~is_cancer).sum()
    assert "cross_source" not in choose_thresholds(labels, probabilities)["tiers"][0]


def test_each_image_type_gets_the_target_sensitivity_and_its_own_rates():
    labels, probabilities = synthetic_validation(seed=3)
    clinical, is_cancer = np.arange(len(labels)) % 3 == 0, np.isin(labels, CANCER)
    # the model is less sure of the cancers in clinical photos
    probabilities[clinical & is_cancer] = _with_cancer_score(probabilities[clinical & is_cancer], 0.5)
    plain = choose_thresholds(labels, probabilities)
    decision = choose_thresholds(labels, probabilities, groups={"clinical": clinical, "dermoscopic": ~clinical})
    score = cancer_score(probabilities)
    for tier, alone in zip(decision["tiers"][:2], plain["tiers"][:2]):
        assert tier["min_probability"] < alone["min_probability"]
        for group, members in (("clinical", clinical), ("dermoscopic", ~clinical)):
            flagged = score[members & is_cancer] >= tier["min_probability"]
            assert flagged.mean() >= tier["target_sensitivity"]
            assert tier["validation_by_group"][group]["sensitivity"] == pytest.approx(flagged.mean())
    tiny = np.zeros(len(labels), dtype=bool)
    tiny[np.flatnonzero(is_cancer)[:5]] = True  # too few cancers to set a threshold
    few = choose_thresholds(labels, probabilities, groups={"few": tiny})
    assert [t["min_probability"] for t in few["tiers"]] == [t["min_probability"] for t in plain["tiers"]]


def _with_cancer_score(probabilities: np.ndarray, factor: float) -> np.ndarray:
    """Rows whose cancer probabilities are scaled by ``factor``, the rest renormalised to sum to one."""
    scaled = probabilities.copy()
    scaled[:, CANCER] *= factor
    others = [i for i in range(7) if i not in CANCER]
    scaled[:, others] *= ((1 - scaled[:, CANCER].sum(1)) / scaled[:, others].sum(1))[:, None]
    return scaled


def test_bad_labelled_sets_are_refused_with_their_name():
    labels, probabilities = synthetic_validation(50)
    with pytest.raises(ValueError, match="validation"):
        choose_thresholds(labels[:-1], probabilities)
    with pytest.raises(ValueError, match="other: labels"):
        choose_thresholds(labels, probabilities, extra={"other": (labels + 7, probabilities)})


def test_without_validation_cancers_the_tiers_claim_no_sensitivity():
    labels = np.full(20, CODE_TO_INDEX["nv"])
    decision = choose_thresholds(labels, synthetic_validation(20)[1])
    urgent, check, _ = decision["tiers"]
    assert urgent["validation"]["sensitivity"] is None and check["validation"]["sensitivity"] is None
    assert check["min_probability"] < urgent["min_probability"]


def probabilities_peaked(share: float) -> np.ndarray:
    """Seven probabilities whose cancer classes sum to ``share`` and the rest all on nevus."""
    p = np.zeros(NUM_CLASSES)
    p[CANCER] = share / len(CANCER)
    p[CODE_TO_INDEX["nv"]] = 1 - share
    return p


# Offsets as a build keeps them (towards the rare classes, away from nevus) and the temperature after them.
OFFSETS = np.array([-0.3, -0.2, -0.7, 1.1, 0.0, -1.6, 1.9])
REFERRAL = referral_rule(OFFSETS, 1.16)


def as_model_output(scored: np.ndarray, decision: dict) -> np.ndarray:
    """The model probabilities whose :func:`referral_probabilities` under ``decision`` are ``scored``."""
    rule = decision.get("referral")
    if not rule:
        return scored
    weights = np.array([rule["class_weights"][c.code] for c in CLASSES])
    p = (scored / weights) ** (1 / rule["power"])
    return p / p.sum()


def expected_tier(probabilities: np.ndarray, decision: dict, tiers: list[dict]) -> str:
    """The tier the module docstring promises: by score, with the unsure photo's lowest tier raised."""
    score = referral_probabilities(probabilities, decision)[CANCER].sum()
    ranked = sorted(tiers, key=lambda tier: tier["min_probability"], reverse=True)
    name = next(tier["name"] for tier in ranked if score >= tier["min_probability"])
    unsure = probabilities.max() < decision.get("uncertain_below", 0.0)
    return decision["unsure_tier"] if unsure and name == ranked[-1]["name"] and "unsure_tier" in decision else name


def tier_cases(decision: dict, tiers: list[dict] | None = None) -> list[tuple[list[float], bool, str]]:
    """(probabilities, judged, expected tier) just above and just below every threshold of ``tiers`` (default:
    ``decision``'s), and between them, with the rest of the probability spread over the benign classes (an
    unsure photo) or all on nevus (a confident one where the share is small), as scored under the decision's
    ``referral`` rule where it has one; shared with the browser test of decision.js."""
    tiers = sorted(tiers or decision["tiers"], key=lambda tier: tier["min_probability"], reverse=True)
    cases = []
    for higher, lower in pairwise(tiers):
        top, bottom = higher["min_probability"], lower["min_probability"]
        for share in (top + 1e-4, top - 1e-4, (top + bottom) / 2):
            for scored in (probabilities_with_cancer_share(share), probabilities_peaked(share)):
                p = as_model_output(scored, decision)
                cases += [(p.tolist(), True, expected_tier(p, decision, tiers)), (p.tolist(), False, NOT_JUDGED)]
    return cases


def test_tier_for_applies_the_chosen_thresholds():
    decision = choose_thresholds(*synthetic_validation())
    cases = tier_cases({**decision, "uncertain_below": 0.5})
    assert {expected for _, _, expected in cases} == {"urgent", "check", "routine", NOT_JUDGED}
    for probabilities, judged, expected in cases:
        assert tier_for(np.array(probabilities), {**decision, "uncertain_below": 0.5}, judged) == expected


UNSURE_BELOW_0_6 = {
    "urgent_classes": ["akiec", "bcc", "mel"],
    "uncertain_below": 0.6,
    "unsure_tier": "check",
    "tiers": [
        {"name": "urgent", "min_probability": 0.4},
        {"name": "check", "min_probability": 0.1},
        {"name": "routine", "min_probability": 0.0},
    ],
}


def test_a_photo_the_model_is_unsure_about_is_never_told_routine():
    decision = UNSURE_BELOW_0_6
    confident, unsure, unsure_cancer = np.zeros((3, NUM_CLASSES))
    confident[[CODE_TO_INDEX["nv"], CODE_TO_INDEX["mel"]]] = 0.95, 0.05
    unsure[[CODE_TO_INDEX["nv"], CODE_TO_INDEX["bkl"], CODE_TO_INDEX["mel"]]] = 0.55, 0.4, 0.05
    unsure_cancer[[CODE_TO_INDEX["nv"], CODE_TO_INDEX["mel"], CODE_TO_INDEX["bcc"]]] = 0.5, 0.25, 0.25
    assert tier_for(confident, decision, judged=True) == "routine"
    assert tier_for(unsure, decision, judged=True) == "check"
    assert tier_for(unsure_cancer, decision, judged=True) == "urgent"
    assert tier_for(unsure, decision, judged=False) == NOT_JUDGED
    older = {key: value for key, value in decision.items() if key != "unsure_tier"}
    assert tier_for(unsure, older, judged=True) == "routine"


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_the_referral_rule_undoes_the_class_offsets_and_the_temperature_after_them():
    logits = np.random.default_rng(3).normal(0, 2, (50, NUM_CLASSES))
    exported = softmax((logits + OFFSETS) / 1.16)
    before = softmax(logits)
    assert referral_probabilities(exported, {"referral": REFERRAL}) == pytest.approx(before, abs=1e-12)
    assert np.array_equal(referral_probabilities(exported, {}), exported)
    assert referral_rule(np.zeros(NUM_CLASSES), 1.0) is None
    assert (before[:, CANCER].sum(1) != exported[:, CANCER].sum(1)).all()


def test_with_a_referral_rule_the_tiers_score_the_probabilities_before_the_offsets():
    labels, before = synthetic_validation()
    exported = softmax((np.log(before.astype(np.float64)) + OFFSETS) / 1.16)
    decision = choose_thresholds(labels, exported, referral=REFERRAL)
    json.dumps(decision, allow_nan=False)
    assert decision["referral"] == REFERRAL and "referral" not in choose_thresholds(labels, exported)
    score, is_cancer = referral_probabilities(exported, decision)[:, CANCER].sum(1), np.isin(labels, CANCER)
    assert score == pytest.approx(cancer_score(before), abs=1e-6)
    for tier in decision["tiers"][:-1]:
        flagged = score >= tier["min_probability"]
        assert flagged[is_cancer].mean() >= tier["target_sensitivity"]
        assert tier["validation"]["specificity"] == pytest.approx((~flagged[~is_cancer]).mean())
    decision["uncertain_below"] = 0.5
    for probabilities, judged, expected in tier_cases(decision):
        assert tier_for(np.array(probabilities), decision, judged) == expected


def test_tier_thresholds_are_inclusive_and_tiers_may_come_in_any_order():
    decision = {
        "urgent_classes": ["akiec", "bcc", "mel"],
        "tiers": [
            {"name": "routine", "min_probability": 0.0},
            {"name": "urgent", "min_probability": 0.4},
            {"name": "check", "min_probability": 0.1},
        ],
    }
    for share, tier in {0.0: "routine", 0.0999: "routine", 0.1: "check", 0.3999: "check", 0.4: "urgent"}.items():
        p = np.zeros(NUM_CLASSES)
        p[CODE_TO_INDEX["mel"]], p[CODE_TO_INDEX["nv"]] = share, 1 - share
        assert tier_for(p, decision, judged=True) == tier, share


def test_tier_for_a_manifest_without_tiers_and_bad_input():
    legacy = {"urgent_classes": ["akiec", "bcc", "mel"], "urgent_probability": 0.43}
    assert tier_for(probabilities_with_cancer_share(0.5), legacy, judged=True) == "urgent"
    assert tier_for(probabilities_with_cancer_share(0.3), legacy, judged=True) == "routine"
    assert tier_for(probabilities_with_cancer_share(0.5), legacy, judged=False) == NOT_JUDGED
    with pytest.raises(ValueError, match="7 probabilities"):
        tier_for(np.ones(6) / 6, legacy, judged=True)
    with pytest.raises(ValueError, match="no advice thresholds"):
        tier_for(probabilities_with_cancer_share(0.3), {"urgent_classes": ["mel"]}, judged=True)
    with pytest.raises(ValueError, match="unknown class codes"):
        tier_for(probabilities_with_cancer_share(0.3), {**legacy, "urgent_classes": ["scc"]}, judged=True)
    no_floor = {**legacy, "tiers": [{"name": "urgent", "min_probability": 0.43}]}
    with pytest.raises(ValueError, match="min_probability 0"):
        tier_for(probabilities_with_cancer_share(0.3), no_floor, judged=True)


def test_the_build_writes_the_tiers_into_the_manifest(tiny_model):
    decision = json.loads((tiny_model / "manifest.json").read_text())["decision"]
    assert [tier["name"] for tier in decision["tiers"]] == ["urgent", "check", "routine"]
    assert decision["unsure_tier"] == "check"
    for tier in decision["tiers"][:2]:
        assert tier["target_sensitivity"] == TIER_SENSITIVITY[tier["name"]]
        assert {"sensitivity", "specificity", "cancers", "others"} <= set(tier["validation"])
    assert tier_for(probabilities_with_cancer_share(1.0), decision, judged=True) == "urgent"
    offsets = json.loads((tiny_model / "report" / "metrics.json").read_text())["calibration"]["class_offsets"]
    assert ("referral" in decision) == any(offsets.values())
    if "referral" in decision:
        weights = decision["referral"]["class_weights"]
        assert [weights[c.code] for c in CLASSES] == pytest.approx(
            [np.exp(-offsets[c.code]) for c in CLASSES], rel=1e-2
        )


def photo_type_validation(count: int = 1200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic validation photos routed half to each photo type; clinical photos' cancers score lower."""
    labels, probabilities = synthetic_validation(count, seed=1)
    routed = np.where(np.arange(count) % 2 == 1, "clinical", "dermoscopic")
    clinical = routed == "clinical"
    shrunk = probabilities[clinical][:, CANCER] * 0.5
    probabilities[np.ix_(clinical, CANCER)] = shrunk
    probabilities[np.ix_(clinical, BENIGN)] += (1 - probabilities[clinical].sum(1, keepdims=True)) / len(BENIGN)
    return labels, probabilities, routed


def test_each_photo_type_gets_tiers_chosen_on_the_photos_routed_to_it():
    labels, probabilities, routed = photo_type_validation()
    sources = {"source a": np.arange(len(labels)) % 4 < 2, "source b": np.arange(len(labels)) % 4 >= 2}
    by_type = tiers_by_photo_type(labels, probabilities, routed, sources)
    assert set(by_type) == {"clinical", "dermoscopic"}
    score, is_cancer = cancer_score(probabilities), np.isin(labels, CANCER)
    for kind, tiers in by_type.items():
        mine = routed == kind
        for tier in tiers[:-1]:
            flagged = score >= tier["min_probability"]
            for members in [mine, *(mine & source for source in sources.values())]:
                assert flagged[members & is_cancer].mean() >= tier["target_sensitivity"]
    thresholds = {kind: tiers[0]["min_probability"] for kind, tiers in by_type.items()}
    assert thresholds["clinical"] < thresholds["dermoscopic"]  # clinical cancers score lower here

    decision = choose_thresholds(labels, probabilities) | {"tiers_by_photo_type": by_type}
    share = (thresholds["clinical"] + thresholds["dermoscopic"]) / 2
    p = probabilities_with_cancer_share(share)
    assert tier_for(p, decision, judged=True, photo_type="clinical") == "urgent"
    assert tier_for(p, decision, judged=True, photo_type="dermoscopic") != "urgent"
    assert tier_for(p, decision, judged=False, photo_type="clinical") == NOT_JUDGED


def test_no_photo_type_tiers_without_enough_cancers_of_each_type():
    labels, probabilities, routed = photo_type_validation()
    benign_clinical = labels.copy()
    benign_clinical[(routed == "clinical") & np.isin(labels, CANCER)] = BENIGN[0]
    assert tiers_by_photo_type(benign_clinical, probabilities, routed, {}) is None
    assert tiers_by_photo_type(labels, probabilities, np.full(len(labels), "dermoscopic"), {}) is None


def test_advice_decision_flags_each_image_types_and_each_routed_photo_types_cancers_on_the_referral_score():
    labels, probabilities, routed = photo_type_validation()
    domains = np.where(np.arange(len(labels)) % 3 == 0, "source a", "source b")
    referral = referral_rule(np.array([0.4, 0.2, 0.0, 0.3, 0.5, -0.6, 0.1]), 0.9)
    decision = advice_decision(labels, probabilities, domains, referral, routed)
    score = referral_probabilities(probabilities, decision)[:, CANCER].sum(axis=1)
    is_cancer = np.isin(labels, CANCER)

    def assert_flags_target_share(tiers: list[dict], members: np.ndarray) -> None:
        for tier in tiers[:-1]:
            flagged = score >= tier["min_probability"]
            for kind in np.unique(domains):
                assert flagged[members & (domains == kind) & is_cancer].mean() >= tier["target_sensitivity"]

    assert decision["referral"] == referral
    assert set(decision["tiers"][0]["validation_by_group"]) == {"source a", "source b"}
    assert_flags_target_share(decision["tiers"], np.ones(len(labels), bool))
    assert set(decision["tiers_by_photo_type"]) == {"clinical", "dermoscopic"}
    for kind, tiers in decision["tiers_by_photo_type"].items():
        assert_flags_target_share(tiers, routed == kind)
    assert "tiers_by_photo_type" not in advice_decision(labels, probabilities, domains, referral)


def test_advice_rates_count_each_tier_and_its_sensitivity_among_judged_photos():
    labels, probabilities = synthetic_validation()
    decision = choose_thresholds(labels, probabilities)
    judged = np.arange(len(labels)) % 5 != 0
    rates = advice_rates(labels, probabilities, decision, judged)
    assert rates["share"][NOT_JUDGED] == pytest.approx(0.2)
    assert sum(rates["share"].values()) == pytest.approx(1.0)
    score, is_cancer = cancer_score(probabilities)[judged], np.isin(labels, CANCER)[judged]
    unsure = probabilities.max(axis=1)[judged] < decision["uncertain_below"]
    for tier in decision["tiers"][:-1]:
        flagged = (score >= tier["min_probability"]) | (unsure & (tier["name"] == decision["unsure_tier"]))
        assert rates[tier["name"]]["sensitivity"] == pytest.approx(flagged[is_cancer].mean())
        assert rates[tier["name"]]["specificity"] == pytest.approx((~flagged[~is_cancer]).mean())
    assert rates["check"]["sensitivity"] >= rates["urgent"]["sensitivity"]
