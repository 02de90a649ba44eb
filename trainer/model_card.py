"""The model card: what the model is for, what it learnt from, how well it did and where it fails.

Sections follow Mitchell et al., "Model Cards for Model Reporting" (FAT* 2019): model details,
intended use, factors, metrics, evaluation data, training data, quantitative analyses, ethical
considerations, caveats and recommendations. Every number comes from the manifest, the evaluation
metrics or the data facts handed in (``trainer.data_summary``, ``trainer.skin_tone``); none is typed here.

``write_model_card`` writes ``model-card.md`` and ``model-card.json`` (the same sections as data, which
the web app's /model-card page renders) into the model folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from trainer.export import MANIFEST_FILE
from trainer.metrics import MIN_GROUP_IMAGES

CARD_MARKDOWN = "model-card.md"
CARD_JSON = "model-card.json"
CARD_FORMAT = 1
TEMPLATE = 'Mitchell et al., "Model Cards for Model Reporting" (FAT* 2019)'
HAM_SOURCES = {
    "vidir_modern": "ViDIR Group, Medical University of Vienna, Austria (digital dermatoscopy)",
    "vidir_molemax": "ViDIR Group, Medical University of Vienna, Austria (MoleMax HD follow-up of nevi)",
    "vienna_dias": "ViDIR Group, Medical University of Vienna, Austria (scanned slides from the pre-digital era)",
    "rosendahl": "the skin cancer practice of Cliff Rosendahl, Queensland, Australia",
}
DATA_LICENCES = {
    "HAM10000": "CC BY-NC 4.0; Tschandl, Rosendahl and Kittler, Scientific Data (2018), doi:10.1038/sdata.2018.161",
    "MILK10k": 'CC BY-NC 4.0, attribution "MILK study team"; ISIC 2025 MILK10k challenge dataset',
}

Block = dict  # {"text": str} | {"heading": str} | {"list": [str]} | {"table": {"header": [str], "rows": [[str]]}}


def fraction(value: float | None) -> str:
    """A metric in 0..1 with three decimals, or "n/a"."""
    return "n/a" if value is None else f"{value:.3f}"


def with_interval(metrics: dict, key: str) -> str:
    """``metrics[key]`` (``"mel_recall"``: melanoma recall) as a fraction, followed by its 95% interval in
    brackets where ``metrics["intervals"]`` has one: "0.519 (0.47-0.57)"."""
    value = metrics.get("per_class", {}).get("mel", {}).get("recall") if key == "mel_recall" else metrics.get(key)
    bounds = metrics.get("intervals", {}).get(key)
    return fraction(value) + (f" ({bounds[0]:.2f}-{bounds[1]:.2f})" if bounds else "")


def percent(share: float | None) -> str:
    """A share in 0..1 as a percentage with one decimal, or "n/a"."""
    return "n/a" if share is None else f"{100 * share:.1f}%"


def number(value: float) -> str:
    """A count, age or duration, rounded to a whole number."""
    return str(round(value))


def _shares(dist: dict[str, dict], limit: int = 8) -> str:
    """ "a 10 (50.0%), b 5 (25.0%), ..." for a ``data_summary.distribution``."""
    items = [f"{value} {d['n']} ({percent(d['share'])})" for value, d in list(dist.items())[:limit]]
    rest = sum(d["n"] for d in list(dist.values())[limit:])
    return ", ".join(items) + (f", others {rest}" if rest else "")


def manifest_sha256(folder: Path) -> str:
    """The sha256 of the folder's manifest file, which lists the sha256 of every model file."""
    return hashlib.sha256((folder / MANIFEST_FILE).read_bytes()).hexdigest()


def _class_names(manifest: dict) -> dict[str, str]:
    return {c["code"]: c["name"] for c in manifest["classes"]}


def model_details(manifest: dict, metrics: dict, version: str) -> list[Block]:
    model, prep = manifest["model"], manifest["preprocessing"]
    training = metrics.get("training", {})
    recipe = ", ".join(f"{key} {value}" for key, value in training.get("recipe", {}).items())
    facts = [
        f"Version: manifest sha256 {version} (the manifest lists the sha256 of every model file); "
        f"built {manifest['created_at']}.",
        f"Architecture: {model['architecture']}, {model['parameters']} parameters, {model['quantization']} weight "
        f"quantisation, TF.js layers format; runs in the browser.",
        f"Input: {prep['input_height']}x{prep['input_width']} RGB pixels (preprocessing {prep['id']}: centre "
        f"crop to 3:4, area resize). Output: {model['output']}.",
        f"Training recipe: {recipe}." if recipe else "Training recipe: not recorded.",
    ]
    if training.get("epochs_run"):
        facts.append(
            f"Training ran {training['epochs_run']} epochs (best epoch {training['best_epoch']}) in "
            f"{number(training['seconds'])} s on {training.get('machine', 'an unrecorded machine')}."
        )
    if training.get("trained_by"):
        trained_by = training["trained_by"]
        distilled = f", distilled from {trained_by['teacher']}," if trained_by["recipe"].get("teacher_weight") else ""
        facts.append(
            f"The weights were trained in PyTorch by {trained_by['script']} on {trained_by['device']}{distilled} "
            "and loaded into the Keras network that this build calibrated and exported."
        )
    elif training.get("reused_weights"):
        facts.append("The weights were trained by an earlier build with the same recipe and reused by this one.")
    if training.get("teacher"):
        teacher = training["teacher"]
        facts.append(
            f"Distilled: each training target blended the true class with the calibrated probabilities of "
            f"{teacher['description']} (teacher weight {training['recipe']['teacher_weight']}; the teacher's "
            f"validation balanced accuracy "
            f"{teacher['validation']['all']['balanced_accuracy']:.3f})."
        )
    facts.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items()) + ".")
    return [
        {
            "text": f"This card follows the sections of {TEMPLATE}. It was generated by trainer build from the "
            "model's manifest, its evaluation metrics and the training data's metadata."
        },
        {"list": facts},
    ]


def licences(manifest: dict, data_facts: dict) -> list[Block]:
    items = ["Code: Apache-2.0."]
    if manifest["model"]["architecture"].startswith("efficientnet"):
        items.append("Pretrained weights: EfficientNet-Lite0 ImageNet weights, Apache-2.0.")
    items += [f"{d['dataset']} images: {DATA_LICENCES[d['dataset']]}." for d in data_facts.get("datasets", [])]
    items.append("The data licences do not allow commercial use; treat the model as for non-commercial use too.")
    return [{"list": items}]


def intended_use(manifest: dict) -> list[Block]:
    names = ", ".join(c["name"].lower() for c in manifest["classes"])
    return [
        {
            "list": [
                "Primary use: a decision aid for a person worried about one particular skin spot. It estimates which "
                f"of {len(manifest['classes'])} lesion types a close-up photo resembles ({names}) and says when to "
                "see a doctor promptly.",
                "Primary users: people with a concern about a spot, and clinicians who want a second look; the photo "
                "is analysed on the user's own device and never uploaded.",
                "Out of scope: diagnosis (only a doctor, usually with a biopsy, can diagnose a lesion); screening "
                "people without a concern, where skin cancer is rare and most alarms would be false; lesion types "
                "outside the list above (the model always answers with one of its types); rashes, wounds, nails, "
                "mucosa; decisions about treatment.",
            ]
        },
    ]


def factors(metrics: dict) -> list[Block]:
    reported = sorted(metrics.get("test_groups", {}))
    return [
        {
            "text": "Factors that change how well a skin-lesion model works: the kind of image (through a "
            "dermatoscope or an ordinary camera), the camera and clinic, skin tone, body site, age and sex, and how "
            "common each lesion type is among the people photographed."
        },
        {
            "text": "Reported here: per lesion type; "
            + (
                f"per {', '.join(k.replace('_', ' ') for k in reported)} for groups of at least "
                f"{MIN_GROUP_IMAGES} test images; "
                if reported
                else ""
            )
            + ("on a source held out from training; " if "cross_source" in metrics else "")
            + "and the training data's make-up by sex, age, body site and skin tone."
        },
    ]


def metric_definitions(manifest: dict, metrics: dict) -> list[Block]:
    decision = manifest.get("decision", {})
    calibration = metrics.get("calibration", {})
    items = [
        "Balanced accuracy: the mean of the per-type recalls, so rare types count as much as common ones.",
        "Macro ROC AUC: the mean one-vs-rest area under the ROC curve over the types.",
        "Melanoma recall: the share of melanomas given melanoma as the most likely type.",
        "Expected calibration error (ECE): the gap between the stated top probability and how often it is right.",
    ]
    if "temperature" in calibration:
        items.append(
            f"Calibration: temperature scaling on validation (temperature {fraction(calibration['temperature'])}); "
            f"test ECE {fraction(calibration.get('test_ece_before'))} before, "
            f"{fraction(calibration.get('test_ece_after'))} after."
        )
    if "uncertain_below" in decision:
        items.append(
            f"Unsure threshold: no type is named when the top probability is below "
            f"{fraction(decision['uncertain_below'])} (rule: {decision['uncertain_rule']}; on validation, "
            f"{percent(decision['validation_coverage_above'])} of images were above it, "
            f"{percent(decision['validation_accuracy_above'])} of those right)."
            + (
                f" Such a photo gets '{decision['unsure_tier']}' advice at least, never the lowest tier, the one "
                "that could reassure."
                if "unsure_tier" in decision
                else ""
            )
        )
    if "urgent_probability" in decision:
        items.append(
            f"Urgent threshold: see a dermatologist promptly when the summed probability of "
            f"{', '.join(decision['urgent_classes'])} reaches {fraction(decision['urgent_probability'])} (rule: "
            f"{decision['urgent_rule']}; validation sensitivity {fraction(decision['validation_urgent_sensitivity'])}, "
            f"specificity {fraction(decision['validation_urgent_specificity'])})."
        )
    if "referral" in decision:
        items.append(
            "Advice score: the thresholds compare the summed probability of the cancer types before the "
            "per-class offsets that choose the named type, the model's calibrated probabilities (the offsets "
            "lean towards rare types and rank cancers below other lesions worse)."
        )
    if "photo_type" in decision:
        items.append(_photo_type_item(decision))
    for kind, rule in (decision.get("offsets_by_photo_type") or {}).items():
        scores = rule["validation_balanced_accuracy"]
        items.append(
            f"Class offsets of {kind} photos' own: for photos the model routes to {kind}, the probabilities shown "
            f"(and the type named) start from the calibrated ones before the shared offsets, plus offsets of minus "
            f"{fraction(rule['prior_strength'])} times the log of each type's share of the "
            f"{rule['validation_photos']} validation photos routed there, at temperature "
            f"{fraction(rule['temperature'])}; their validation balanced accuracy {fraction(scores['shared_offsets'])} "
            f"with the shared offsets, {fraction(scores['own_offsets'])} with these (fitted on half of their "
            f"lesions, {rule['cross_fitted_gain']:+.3f} on the other half). The advice does not use them."
        )
    for kind, rule in ((decision.get("test_time_augmentation") or {}).get("photo_types") or {}).items():
        scores, aucs = rule["validation_balanced_accuracy"], rule["validation_macro_auc"]
        views = len(decision["test_time_augmentation"]["views"])
        items.append(
            f"Test-time augmentation for {kind} photos: for photos the model routes to {kind}, the probabilities "
            f"shown are the mean over {views} views (the photo and its mirror image); on the "
            f"{rule['validation_photos']} validation photos routed there, balanced accuracy "
            f"{fraction(scores['one view'])} with one view, {fraction(scores['views'])} with the mean; macro AUC "
            f"{fraction(aucs['one view'])} and {fraction(aucs['views'])}. The advice scores the photo itself."
        )
    if "image_checks" in decision:
        items.append(f"Photo checks: {decision['image_checks']['rule']}.")
    return [{"text": "Thresholds were chosen on the validation split, never on the test split."}, {"list": items}]


def _photo_type_item(decision: dict) -> str:
    """The photo-type rule, how often it was right on validation, and each type's advice thresholds."""
    rule, measured = decision["photo_type"], decision["photo_type"]["validation"]
    item = (
        f"Photo type: {rule['rule']}. On validation it recognised {percent(measured['clinical_recall'])} of "
        f"clinical close-ups and {percent(measured['dermoscopic_recall'])} of dermoscopic images."
    )
    for kind, tiers in decision.get("tiers_by_photo_type", {}).items():
        shown = [
            f"{tier['name']} from {fraction(tier['min_probability'])} (validation sensitivity "
            f"{fraction(tier['validation']['sensitivity'])}, specificity {fraction(tier['validation']['specificity'])})"
            for tier in tiers
            if "validation" in tier
        ]
        item += f" {kind.capitalize()} photos: {'; '.join(shown)}."
    return item


def evaluation_data(metrics: dict) -> list[Block]:
    split = metrics.get("split", {})
    test = metrics["test"]
    counts = split.get("counts", {}).get("test", {})
    blocks = [
        {
            "text": f"Test split: {test['n']} images of lesions never seen in training or validation "
            f"({split.get('kind', 'unrecorded')} split, seed {split.get('seed', 'unrecorded')}: "
            f"{split.get('note', '')}). Per type: " + ", ".join(f"{code} {n}" for code, n in counts.items()) + "."
        }
    ]
    if "cross_source" in metrics:
        cross = metrics["cross_source"]
        blocks.append(
            {
                "text": f"Cross-source test: {cross['n']} images from {cross['source']}, a source held out "
                "of training and validation entirely (another clinic or device)."
            }
        )
    return blocks


def _dataset_blocks(summary: dict) -> list[Block]:
    items = [f"{summary['images']} images of {summary['lesions']} lesions."]
    if "source" in summary:
        items.append(
            "Sources: "
            + "; ".join(f"{HAM_SOURCES.get(name, name)}: {d['n']} images" for name, d in summary["source"].items())
            + "."
        )
    for key, label in (
        ("image_type", "Image types"),
        ("diagnosis", "Diagnoses"),
        ("confirmed_by", "Diagnosis confirmed by"),
        ("sex", "Sex"),
        ("body_site", "Body site"),
        ("skin_tone_class", "Skin tone as labelled (skin_tone_class)"),
    ):
        if key in summary:
            items.append(f"{label}: {_shares(summary[key])}.")
    age = summary.get("age", {})
    if "median" in age:
        items.append(
            f"Age: median {number(age['median'])} (quartiles {number(age['q1'])} and "
            f"{number(age['q3'])}), not recorded for {age['missing']} images; {_shares(age['bands'])}."
        )
    return [{"heading": summary["dataset"]}, {"list": items}]


def training_data(manifest: dict, data_facts: dict) -> list[Block]:
    training = manifest.get("training_data", {})
    blocks: list[Block] = []
    if "class_counts" in training:
        blocks.append(
            {
                "text": f"The build used {training['images']} images: "
                + ", ".join(f"{code} {n}" for code, n in training["class_counts"].items())
                + " (split into training, validation and test by lesion)."
            }
        )
    for summary in data_facts.get("datasets", []):
        blocks += _dataset_blocks(summary)
    if any(d["dataset"] == "HAM10000" for d in data_facts.get("datasets", [])):
        blocks.append(
            {
                "text": "HAM10000 records no skin type. Its patients were mostly fair-skinned Central "
                "European and Australian people, and all its images are dermatoscopic."
            }
        )
    blocks += _skin_tone_blocks(data_facts.get("skin_tone"))
    return blocks


def _skin_tone_blocks(skin_tone: dict | None) -> list[Block]:
    if not skin_tone:
        return []
    groups = skin_tone["groups"]
    names = list(dict.fromkeys(name for dist in groups.values() for name in dist))
    rows = [[domain] + [str(dist[n]["n"]) if n in dist else "0" for n in names] for domain, dist in groups.items()]
    blocks: list[Block] = [
        {
            "text": "Estimated skin tone: the Individual Typology Angle (ITA, Chardon et al. 1991) of the skin around "
            "the lesion (the border of the model input), grouped after Del Bino and Bernerd (2013)."
        },
        {"table": {"header": ["images", *names], "rows": rows}},
    ]
    agreement = skin_tone.get("agreement_with_labelled_tone", {})
    if agreement:
        blocks.append(
            {
                "text": "Check against the labelled skin tone (Spearman correlation of ITA with "
                "skin_tone_class): "
                + "; ".join(f"{domain} {fraction(a['spearman'])} (n {a['n']})" for domain, a in agreement.items())
                + ". Near zero means ITA does not measure skin tone in those images: dermatoscope light "
                "and colour balance dominate their colour."
            }
        )
    return blocks


def _metric_row(name: str, m: dict) -> list[str]:
    return [
        name,
        str(m["n"]),
        with_interval(m, "balanced_accuracy"),
        with_interval(m, "macro_auc"),
        with_interval(m, "mel_recall"),
        fraction(m.get("accuracy")),
        fraction(m.get("ece")),
    ]


def quantitative_analyses(manifest: dict, metrics: dict) -> list[Block]:
    names = _class_names(manifest)
    header = ["test data", "images", "balanced accuracy", "macro AUC", "melanoma recall", "accuracy", "ECE"]
    rows = [_metric_row("all test images", metrics["test"])]
    for kind, groups in metrics.get("test_groups", {}).items():
        rows += [_metric_row(f"{kind.replace('_', ' ')} {value}", m) for value, m in groups.items()]
    if "cross_source" in metrics:
        rows.append(_metric_row(f"held-out source {metrics['cross_source']['source']}", metrics["cross_source"]))
    per_class = [
        [
            names.get(code, code),
            str(m["support"]),
            fraction(m["recall"]),
            fraction(m["precision"]),
            fraction(m["specificity"]),
            fraction(m["auc"]),
        ]
        for code, m in metrics["test"]["per_class"].items()
    ]
    intervals = metrics["test"].get("intervals")
    note = (
        [
            {
                "text": f"In brackets: {intervals['level']:.0%} intervals from {intervals['resamples']} bootstrap "
                f"resamples of the test {intervals['unit']}s, drawn within each type, so both photos of a lesion "
                "move together; a difference between two models smaller than these spans may be chance."
            }
        ]
        if intervals
        else []
    )
    return [
        *note,
        {"table": {"header": header, "rows": rows}},
        {
            "table": {
                "header": ["type", "test images", "recall", "precision", "specificity", "ROC AUC"],
                "rows": per_class,
            }
        },
    ]


def ethics(metrics: dict) -> list[Block]:
    mel = metrics["test"]["per_class"]["mel"]
    return [
        {
            "list": [
                "Privacy: photos are analysed on the user's device; the app has no upload or inference endpoint.",
                "False reassurance: a low score is not an all-clear, and the page never says so.",
                f"Over-calling melanoma: on the test split {percent(mel['precision'])} of the images called melanoma "
                "were melanomas; the rest were mostly benign nevi. This trades worry and extra visits for fewer missed "
                "cancers.",
                "Fairness: darker skin is rare in the training data, so errors there are likelier and poorly measured.",
            ]
        }
    ]


def caveats(manifest: dict, metrics: dict, data_facts: dict) -> list[Block]:
    names = _class_names(manifest)
    rare = [
        f"{names.get(code, code)} ({m['support']})"
        for code, m in metrics["test"]["per_class"].items()
        if m["support"] < MIN_GROUP_IMAGES
    ]
    confusion = metrics["test"].get("confusion_matrix")
    codes = list(metrics["test"]["per_class"])
    items = []
    types = {t for d in data_facts.get("datasets", []) for t in d.get("image_type", {})}
    if not any("clinical" in t for t in types):
        items.append(
            "Ordinary phone photos: every training image was taken through a dermatoscope; photos "
            "without one are outside what the model has seen."
        )
    elif "image_type" in metrics.get("test_groups", {}):
        items.append("Ordinary phone photos: compare the image-type rows of the quantitative analyses.")
    else:
        items.append("Ordinary phone photos: clinical close-ups were trained on but not scored separately.")
    if "skin_tone" in data_facts:
        items.append("Darker skin: few training images; see the training data's skin-tone estimate and its check.")
    else:
        items.append("Darker skin: few training images, and skin tone was neither recorded nor estimated.")
    if rare:
        items.append(
            f"Rare types, with fewer than {MIN_GROUP_IMAGES} test images: {', '.join(rare)}; their "
            "figures are uncertain."
        )
    if confusion and "nv" in codes and "mel" in codes:
        nv, mel = codes.index("nv"), codes.index("mel")
        items.append(
            f"Melanoma over-calling: {confusion[nv][mel]} of {sum(confusion[nv])} test nevi were called melanoma."
        )
    items.append(
        "Other devices and clinics: images unlike the training sources (other dermatoscopes, lighting, "
        "resolutions) may score worse"
        + (
            " (see the held-out source row)."
            if "cross_source" in metrics
            else "; no held-out source was tested for this model."
        )
    )
    items.append("Recommendation: use it to decide whether to see a doctor sooner, never to decide not to.")
    return [{"list": items}]


def card_sections(manifest: dict, metrics: dict, data_facts: dict, version: str) -> list[dict]:
    """The card as ``[{"title": str, "blocks": [Block]}]``."""
    sections = [
        ("Model details", model_details(manifest, metrics, version)),
        ("Licences", licences(manifest, data_facts)),
        ("Intended use", intended_use(manifest)),
        ("Factors", factors(metrics)),
        ("Metrics", metric_definitions(manifest, metrics)),
        ("Evaluation data", evaluation_data(metrics)),
        ("Training data", training_data(manifest, data_facts)),
        ("Quantitative analyses", quantitative_analyses(manifest, metrics)),
        ("Ethical considerations", ethics(metrics)),
        ("Caveats and recommendations", caveats(manifest, metrics, data_facts)),
    ]
    return [{"title": title, "blocks": blocks} for title, blocks in sections]


def to_markdown(card: dict) -> str:
    """The card as Markdown."""
    lines = [f"# {card['title']}", ""]
    for section in card["sections"]:
        lines += [f"## {section['title']}", ""]
        for block in section["blocks"]:
            if "text" in block:
                lines += [block["text"], ""]
            elif "heading" in block:
                lines += [f"### {block['heading']}", ""]
            elif "list" in block:
                lines += [f"- {item}" for item in block["list"]] + [""]
            else:
                table = block["table"]
                lines.append("| " + " | ".join(table["header"]) + " |")
                lines.append("|" + "---|" * len(table["header"]))
                lines += ["| " + " | ".join(row) + " |" for row in table["rows"]]
                lines.append("")
    return "\n".join(lines)


def write_model_card(folder: Path, manifest: dict, metrics: dict, data_facts: dict) -> str:
    """Write ``model-card.md`` and ``model-card.json`` into ``folder`` (which holds the manifest); return the Markdown.

    ``data_facts``: ``{"datasets": [trainer.data_summary summaries], "skin_tone": trainer.skin_tone summary}``,
    both optional.
    """
    version = manifest_sha256(folder)
    card = {
        "format_version": CARD_FORMAT,
        "title": f"Model card: {manifest['model']['architecture']} skin-lesion classifier",
        "manifest_sha256": version,
        "template": TEMPLATE,
        "sections": card_sections(manifest, metrics, data_facts, version),
    }
    text = to_markdown(card)
    (folder / CARD_MARKDOWN).write_text(text)
    (folder / CARD_JSON).write_text(json.dumps(card, indent=2, allow_nan=False) + "\n")
    return text
