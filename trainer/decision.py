"""Decision thresholds for the page, chosen on validation data and stored in the manifest.

Advice comes in tiers on the summed probability of the cancer classes (those marked ``urgent`` in
``trainer.info``), highest first; a photo gets the first tier whose ``min_probability`` it reaches:

- ``urgent``: see a dermatologist promptly; the threshold flags 90% of validation cancers;
- ``check``: have it checked by a doctor in the coming weeks; the threshold flags 97% of them;

(with image types given, e.g. HAM10000 and MILK10k dermoscopic photos, those shares hold for each type's
validation cancers);
- ``routine``: below that; nothing in the photo points to the cancer types the model knows.

``routine`` is the one tier that could reassure, so a photo the model is unsure about (top probability below
``uncertain_below``) gets ``check`` at least (``unsure_tier``): the model's doubt is no reason to relax.

A model that tells photo types apart (``trainer.photo_type``) has tiers per photo type as well
(``tiers_by_photo_type``), each chosen on the validation photos the model routes to that type, and the
photo gets its type's tiers.

Where the build kept per-class logit offsets (``trainer.calibration``: they raise balanced accuracy by leaning
towards the rare classes), the score is summed over the model's own calibrated probabilities before those
offsets (``referral``: each probability raised to the power ``power``, times its class's ``class_weights``,
renormalised, which undoes the offsets and the temperature fitted after them): the offsets choose the named
type, but they rank cancers below other lesions worse than the calibrated probabilities do.

Where the build kept class offsets of a photo type's own (``trainer.photo_type_offsets``), the probabilities
shown for a photo the model routes to that type are the ones before the shared offsets, adjusted by that type's
offsets and temperature (``shown_probabilities``), and the lesion type named is their top one. Where it kept
test-time augmentation for a photo type (``trainer.test_time_augmentation``), the probabilities shown for a photo
routed to that type are the mean of those of the photo and of its mirror image. The advice (tiers and the unsure
rule) is decided on the model's own probabilities of the photo itself, as without either.

``not-judged`` replaces the tier when the photo checks (or the out-of-distribution score) say the model
cannot judge the photo. ``static/js/decision.js`` applies the same rule in the browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from trainer.info import CLASSES, CODE_TO_INDEX, NUM_CLASSES
from trainer.metrics import masks_by_value

TARGET_SELECTIVE_ACCURACY = 0.85
CONFIDENCE_GRID = np.round(np.arange(0.30, 0.951, 0.01), 2)

NOT_JUDGED = "not-judged"
CANCER_CLASSES = [i for i, c in enumerate(CLASSES) if c.urgent]  # class indices of the urgent classes
# Tier name -> the share of validation cancers its threshold must flag, highest threshold first.
TIER_SENSITIVITY = {"urgent": 0.90, "check": 0.97}
LOWEST_TIER = "routine"
# The tier a photo gets instead of the lowest when the model is unsure about it.
UNSURE_TIER = "check"
# An image type with fewer validation cancers than this sets no threshold of its own (its rates are noise).
MIN_GROUP_CANCERS = 20
# Used only when validation holds no cancer image (tiny test datasets): no sensitivity is then claimed.
FALLBACK_MIN_PROBABILITY = {"urgent": 0.2, "check": 0.05}

TIER_ADVICE = {
    "urgent": "see a dermatologist promptly",
    "check": "have it checked by a doctor in the coming weeks",
    "routine": "nothing in this photo points to the cancer types the model knows; watch it for changes (ABCDE)",
}


def cancer_indices(decision: dict) -> list[int]:
    """Class indices of the decision's ``urgent_classes`` codes."""
    unknown = [code for code in decision.get("urgent_classes", []) if code not in CODE_TO_INDEX]
    if unknown:
        raise ValueError(f"unknown class codes in the decision's urgent_classes: {unknown}")
    return [CODE_TO_INDEX[code] for code in decision.get("urgent_classes", [])]


def cancer_probability(probabilities: np.ndarray, indices: list[int]) -> np.ndarray:
    """Summed probability of the given classes per row, in float64, added in class order as the page does."""
    p = np.asarray(probabilities, dtype=np.float64)
    total = np.zeros(p.shape[:-1])
    for i in indices:
        total = total + p[..., i]
    return total


def referral_rule(offsets: np.ndarray, temperature_after_offsets: float) -> dict | None:
    """The decision's ``referral`` block that undoes per-class ``offsets`` (added to the logits, which were then
    divided by ``temperature_after_offsets``); None without offsets."""
    offsets = np.asarray(offsets, dtype=np.float64)
    if not offsets.any():
        return None
    return {
        "power": float(temperature_after_offsets),
        "class_weights": {c.code: float(np.exp(-offset)) for c, offset in zip(CLASSES, offsets)},
        "rule": "the advice is scored on the model's calibrated probabilities before its class offsets: each "
        "probability to the power `power`, times its class weight, renormalised",
    }


def offset_referral(manifest: dict) -> dict | None:
    """The ``referral`` rule that undoes the class offsets a manifest's calibration facts record (None without)."""
    calibration = manifest.get("metrics", {}).get("calibration", {})
    if "class_offsets" not in calibration:
        return None
    offsets = np.array([calibration["class_offsets"][c.code] for c in CLASSES])
    return referral_rule(offsets, calibration.get("temperature_after_offsets", 1.0))


def referral_probabilities(probabilities: np.ndarray, decision: dict) -> np.ndarray:
    """The probabilities (last axis: the classes) the advice is scored on: with the decision's ``referral``
    rule, the model's calibrated probabilities before its class offsets; without one, ``probabilities``."""
    p = np.asarray(probabilities, dtype=np.float64)
    rule = decision.get("referral")
    if not rule:
        return p
    weighted = p ** rule["power"] * np.array([rule["class_weights"][c.code] for c in CLASSES])
    return weighted / weighted.sum(axis=-1, keepdims=True)


def adjusted_probabilities(log_probabilities: np.ndarray, offsets: np.ndarray, temperature: float) -> np.ndarray:
    """softmax((log_probabilities + offsets) / temperature) along the last axis."""
    z = (np.asarray(log_probabilities, dtype=np.float64) + offsets) / temperature
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def shown_probabilities(
    probabilities: np.ndarray,
    decision: dict,
    photo_types: Sequence[str] | None,
    other_views: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """The probabilities the page shows (N, 7): the model's own, except for photos of a type (``photo_types``:
    one per photo, or None) with offsets of its own in the decision's ``offsets_by_photo_type``: for those, the
    :func:`referral_probabilities` adjusted by that type's class offsets and temperature. For photos of a type in
    the decision's ``test_time_augmentation``, the mean of those shown probabilities over the photo
    (``probabilities``) and its other views (``other_views``: the model's probabilities for each view after the
    first, ``trainer.test_time_augmentation.view_inputs``)."""
    shown = _shown_for_one_view(probabilities, decision, photo_types)
    averaged = averaged_photos(decision, photo_types)
    if not averaged.any():
        return shown
    rule = decision["test_time_augmentation"]
    if other_views is None or len(other_views) != len(rule["views"]) - 1:
        raise ValueError(
            f"the decision averages {len(rule['views'])} views of {sorted(rule['photo_types'])} photos: pass the "
            "model's probabilities for each view after the first"
        )
    views = [shown, *(_shown_for_one_view(view, decision, photo_types) for view in other_views)]
    shown[averaged] = np.mean(views, axis=0)[averaged]
    return shown


def averaged_photos(decision: dict, photo_types: Sequence[str] | None) -> np.ndarray:
    """Which photos (``photo_types``: one per photo, or None) the decision's ``test_time_augmentation`` shows the
    mean over views for: those routed to one of its photo types (an empty mask without photo types)."""
    if photo_types is None:
        return np.zeros(0, dtype=bool)
    rule = decision.get("test_time_augmentation")
    if not rule:
        return np.zeros(len(photo_types), dtype=bool)
    return np.isin(np.asarray(photo_types), list(rule["photo_types"]))


def _shown_for_one_view(probabilities: np.ndarray, decision: dict, photo_types: Sequence[str] | None) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    shown = p.copy()
    if photo_types is None:
        return shown
    kinds = np.asarray(photo_types)
    for kind, rule in (decision.get("offsets_by_photo_type") or {}).items():
        mine = kinds == kind
        if mine.any():
            log_before = np.log(np.clip(referral_probabilities(p[mine], decision), 1e-12, 1.0))
            offsets = np.array([rule["class_offsets"][c.code] for c in CLASSES])
            shown[mine] = adjusted_probabilities(log_before, offsets, rule["temperature"])
    return shown


def cancer_score(probabilities: np.ndarray, decision: dict, indices: list[int] | None = None) -> np.ndarray:
    """What the advice tiers compare with their thresholds: the summed :func:`referral_probabilities` of the
    cancer classes (``indices``; default: the decision's ``urgent_classes``)."""
    chosen = cancer_indices(decision) if indices is None else indices
    return cancer_probability(referral_probabilities(probabilities, decision), chosen)


def threshold_for_sensitivity(scores: np.ndarray, sensitivity: float) -> float:
    """The highest threshold that ``scores >= threshold`` holds for at least ``sensitivity`` of ``scores``."""
    ranked = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    needed = max(1, math.ceil(sensitivity * len(ranked) - 1e-9))
    return float(ranked[needed - 1])


def _rates(is_cancer: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Sensitivity and specificity of ``score >= threshold`` for cancer, with the counts behind them."""
    return _flag_rates(is_cancer, score >= threshold)


def _flag_rates(is_cancer: np.ndarray, flagged: np.ndarray) -> dict:
    """Sensitivity and specificity of ``flagged`` for cancer, with the counts behind them."""
    cancers, others = int(is_cancer.sum()), int((~is_cancer).sum())
    return {
        "sensitivity": float(flagged[is_cancer].mean()) if cancers else None,
        "specificity": float((~flagged[~is_cancer]).mean()) if others else None,
        "cancers": cancers,
        "others": others,
    }


def _check_labelled(name: str, labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES or len(labels) != len(probabilities):
        raise ValueError(
            f"{name}: expected labels (N,) and probabilities (N, {NUM_CLASSES}), got {labels.shape} and "
            f"{probabilities.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"{name}: labels must be class indices 0..{NUM_CLASSES - 1}")
    return labels, probabilities


def _uncertain_below(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The lowest top-probability at which validation accuracy reaches the target."""
    top, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    for threshold in CONFIDENCE_GRID:
        confident = top >= threshold
        if confident.any() and correct[confident].mean() >= TARGET_SELECTIVE_ACCURACY:
            return float(threshold), confident, correct
    threshold = float(CONFIDENCE_GRID[-1])
    return threshold, top >= threshold, correct


def choose_thresholds(
    labels: np.ndarray,
    probabilities: np.ndarray,
    extra: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    groups: dict[str, np.ndarray] | None = None,
    referral: dict | None = None,
) -> dict:
    """The manifest's ``decision`` block, from validation labels (class indices) and probabilities.

    ``uncertain_below``: the lowest top-probability at which validation accuracy reaches 85%.
    ``tiers``: the advice tiers (see the module docstring), each threshold with its validation
    sensitivity and specificity for the cancer classes and, for every ``extra`` labelled set (e.g. a
    cross-source dataset, labels mapped to these class indices), the same rates there. ``groups`` masks the
    validation images by kind (e.g. image type): each threshold then flags its target share of every
    group's cancers too (groups with at least ``MIN_GROUP_CANCERS``), and the group's rates are reported.
    ``referral`` (:func:`referral_rule`): the tiers score the probabilities before the class offsets.
    ``urgent_probability`` and ``validation_urgent_*`` repeat the urgent tier for pages without tiers.
    """
    labels, probabilities = _check_labelled("validation", labels, probabilities)
    extra = {name: _check_labelled(name, *labelled) for name, labelled in (extra or {}).items()}
    uncertain_below, confident, correct = _uncertain_below(labels, probabilities)

    scoring = {"referral": referral} if referral else {}
    score = cancer_score(probabilities, scoring, CANCER_CLASSES)
    is_cancer = np.isin(labels, CANCER_CLASSES)
    groups = groups or {}
    cancer_sets = [is_cancer] + [
        is_cancer & members for members in groups.values() if (is_cancer & members).sum() >= MIN_GROUP_CANCERS
    ]
    tiers = []
    for name, sensitivity in TIER_SENSITIVITY.items():
        threshold = (
            min(threshold_for_sensitivity(score[cancers], sensitivity) for cancers in cancer_sets)
            if is_cancer.any()
            else FALLBACK_MIN_PROBABILITY[name]
        )
        tier = {
            "name": name,
            "advice": TIER_ADVICE[name],
            "min_probability": threshold,
            "target_sensitivity": sensitivity,
            "validation": _rates(is_cancer, score, threshold),
        }
        if groups:
            tier["validation_by_group"] = {
                group: _rates(is_cancer[members], score[members], threshold) for group, members in groups.items()
            }
        if extra:
            tier["cross_source"] = {
                source: _rates(np.isin(y, CANCER_CLASSES), cancer_score(p, scoring, CANCER_CLASSES), threshold)
                for source, (y, p) in extra.items()
            }
        tiers.append(tier)
    tiers.append({"name": LOWEST_TIER, "advice": TIER_ADVICE[LOWEST_TIER], "min_probability": 0.0})

    urgent = tiers[0]
    return scoring | {
        "uncertain_below": uncertain_below,
        "uncertain_rule": "top probability below this is 'unsure': validation accuracy above it reached "
        f"{TARGET_SELECTIVE_ACCURACY}",
        "unsure_tier": UNSURE_TIER,
        "unsure_tier_rule": f"a photo the model is unsure about gets '{UNSURE_TIER}' where its score alone would "
        f"give '{LOWEST_TIER}', the one tier that could reassure",
        "validation_coverage_above": float(confident.mean()),
        "validation_accuracy_above": float(correct[confident].mean()) if confident.any() else None,
        "urgent_classes": [CLASSES[i].code for i in CANCER_CLASSES],
        "tiers": tiers,
        "tier_rule": "the first tier whose min_probability the summed probability of urgent_classes "
        + ("(before the class offsets: referral) " if referral else "")
        + "reaches; "
        f"'{NOT_JUDGED}' instead when the photo checks or the out-of-distribution score fail. Each threshold "
        "is the highest that flags its target_sensitivity of the validation cancers"
        + (f", and of each image type's (types with at least {MIN_GROUP_CANCERS} of them)" if groups else ""),
        "urgent_probability": urgent["min_probability"],
        "urgent_rule": f"summed probability of urgent classes at or above this flags at least "
        f"{TIER_SENSITIVITY['urgent']:.0%} of urgent validation lesions",
        "validation_urgent_sensitivity": urgent["validation"]["sensitivity"],
        "validation_urgent_specificity": urgent["validation"]["specificity"],
    }


def tiers_by_photo_type(
    labels: np.ndarray,
    probabilities: np.ndarray,
    routed: np.ndarray,
    groups: dict[str, np.ndarray],
    referral: dict | None = None,
) -> dict[str, list[dict]] | None:
    """The advice tiers of each photo type, chosen on the validation photos the model routes to it
    (``routed``: a photo type name per photo), each type's tiers holding their sensitivity on every
    ``groups`` member among them (scored as ``referral`` says); None when a type has fewer than
    ``MIN_GROUP_CANCERS`` validation cancers."""
    by_kind = masks_by_value(routed)
    enough = all(np.isin(labels[mine], CANCER_CLASSES).sum() >= MIN_GROUP_CANCERS for mine in by_kind.values())
    if len(by_kind) < 2 or not enough:
        return None
    return {
        kind: choose_thresholds(
            labels[mine],
            probabilities[mine],
            groups={name: members[mine] for name, members in groups.items()},
            referral=referral,
        )["tiers"]
        for kind, mine in by_kind.items()
    }


def advice_decision(
    labels: np.ndarray,
    probabilities: np.ndarray,
    domains: Sequence[str],
    referral: dict | None = None,
    routed: np.ndarray | None = None,
    extra: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict:
    """The decision block's advice, chosen on validation as every build chooses it: the tiers shared by all
    photos, each flagging its target share of every image type's cancers (``domains``: an image type name per
    photo) and, where ``routed`` names the photo type the model gives each photo, each photo type's own tiers
    (``tiers_by_photo_type``); scored as ``referral`` says, with rates on every ``extra`` labelled set."""
    groups = masks_by_value(domains)
    decision = choose_thresholds(labels, probabilities, extra, groups, referral)
    if routed is not None:
        by_photo_type = tiers_by_photo_type(labels, probabilities, routed, groups, referral)
        if by_photo_type:
            decision["tiers_by_photo_type"] = by_photo_type
    return decision


def advice_tiers(decision: dict, photo_type: str | None = None) -> list[dict]:
    """The decision's tiers (``photo_type``'s own when it has them), highest threshold first; a manifest from
    before tiers has urgent and routine only."""
    by_type = decision.get("tiers_by_photo_type") or {}
    if photo_type in by_type:
        return sorted(by_type[photo_type], key=lambda tier: tier["min_probability"], reverse=True)
    if "tiers" in decision:
        return sorted(decision["tiers"], key=lambda tier: tier["min_probability"], reverse=True)
    if "urgent_probability" in decision:
        return [
            {"name": "urgent", "min_probability": decision["urgent_probability"]},
            {"name": LOWEST_TIER, "min_probability": 0.0},
        ]
    raise ValueError("the manifest's decision block has no advice thresholds (tiers or urgent_probability)")


def is_unsure(probabilities: np.ndarray, decision: dict) -> np.ndarray:
    """Per photo (last axis: the classes): the top probability is below the decision's ``uncertain_below``."""
    return np.max(probabilities, axis=-1) < decision.get("uncertain_below", 0.0)


def tier_for(probabilities: np.ndarray, decision: dict, judged: bool, photo_type: str | None = None) -> str:
    """The advice tier for one photo's probabilities (7,): a tier name (of ``photo_type``'s tiers where the
    decision has them; the decision's ``unsure_tier`` instead of the lowest when the model is unsure), or
    ``not-judged`` when not ``judged``."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (NUM_CLASSES,):
        raise ValueError(f"expected {NUM_CLASSES} probabilities, got shape {p.shape}")
    if not judged:
        return NOT_JUDGED
    score = float(cancer_score(p, decision))
    tiers = advice_tiers(decision, photo_type)
    for tier in tiers:
        if score >= tier["min_probability"]:
            raised = (
                is_unsure(p, decision)
                and tier is tiers[-1]
                and decision.get("unsure_tier") in {t["name"] for t in tiers}
            )
            return decision["unsure_tier"] if raised else tier["name"]
    raise ValueError(f"no advice tier starts at or below {score}: the lowest tier must have min_probability 0")


def tiers_for(
    probabilities: np.ndarray, decision: dict, judged: np.ndarray, photo_types: np.ndarray | None = None
) -> np.ndarray:
    """:func:`tier_for` of each photo of a batch (``photo_types``: one per photo, or None)."""
    kinds = [None] * len(probabilities) if photo_types is None else [str(kind) for kind in photo_types]
    return np.array([tier_for(p, decision, bool(j), k) for p, j, k in zip(probabilities, judged, kinds)])


def advice_rates(
    labels: np.ndarray,
    probabilities: np.ndarray,
    decision: dict,
    judged: np.ndarray,
    photo_type: np.ndarray | None = None,
) -> dict:
    """What the page's advice does on labelled photos: the share given each tier or ``not-judged``, and for
    each tier, the sensitivity and specificity for cancer of "this tier or a higher one" among judged photos."""
    labels, probabilities = _check_labelled("advice", labels, probabilities)
    tiers = tiers_for(probabilities, decision, judged, photo_type)
    is_cancer = np.isin(labels, cancer_indices(decision))
    names = [tier["name"] for tier in advice_tiers(decision)]
    rates: dict = {"images": len(labels), "share": {n: float((tiers == n).mean()) for n in [*names, NOT_JUDGED]}}
    judged = np.asarray(judged, dtype=bool)
    for depth, name in enumerate(names[:-1]):
        rates[name] = _flag_rates(is_cancer[judged], np.isin(tiers, names[: depth + 1])[judged])
    return rates
