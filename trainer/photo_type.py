"""Which kind of photo the model thinks it got: a dermoscopic image or an ordinary clinical close-up.

A logistic regression on the backbone's pooled features (the ``pool`` layer; the ``logits`` layer's input
for models without one), fitted on the training images whose image type is known, is appended to the model
as one Dense unit with a sigmoid: the output ``photo_type`` is the probability that the photo is a clinical
close-up. The page says which kind of photo it thinks it got, and applies that kind's advice tiers
(``trainer.decision.tiers_by_photo_type``), chosen on the validation photos the model routes to it.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from trainer.keras_backend import keras
from trainer.models import LOGITS_LAYER

PHOTO_TYPE_OUTPUT = "photo_type"
PHOTO_TYPES = ("dermoscopic", "clinical")  # output below / at or above CLINICAL_FROM
CLINICAL_FROM = 0.5
FEATURES_LAYER = "pool"
REGULARISATION = 0.01  # inverse L2 strength on standardised features: the best of 0.001-0.1 on validation
MIN_IMAGES_PER_TYPE = 20  # fewer training images of a type: no photo-type output


def photo_type_features(model: keras.Model) -> keras.KerasTensor:
    """The features the photo type is read from: the pooled backbone output, else the logits layer's input."""
    names = {layer.name for layer in model.layers}
    return model.get_layer(FEATURES_LAYER).output if FEATURES_LAYER in names else model.get_layer(LOGITS_LAYER).input


def is_clinical(image_types: list[str]) -> np.ndarray:
    """Per image: it is a clinical close-up (its ``image_type`` metadata)."""
    return np.array([kind == "clinical" for kind in image_types], dtype=bool)


def can_learn_photo_type(image_types: list[str] | None) -> bool:
    """Whether training images of both photo types are numerous enough to learn to tell them apart."""
    if not image_types:
        return False
    clinical = is_clinical(image_types)
    return min(int(clinical.sum()), int((~clinical).sum())) >= MIN_IMAGES_PER_TYPE


def fit_photo_type(features: np.ndarray, clinical: np.ndarray) -> tuple[np.ndarray, float]:
    """Kernel (d, 1) and bias of the sigmoid unit: a class-balanced logistic regression on standardised
    features, the standardisation folded into the weights."""
    pipeline = make_pipeline(
        StandardScaler(), LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=5000)
    ).fit(features, clinical)
    scaler, regression = pipeline.named_steps["standardscaler"], pipeline.named_steps["logisticregression"]
    kernel = regression.coef_[0] / scaler.scale_
    bias = float(regression.intercept_[0] - kernel @ scaler.mean_)
    return kernel[:, None], bias


def with_photo_type_output(model: keras.Model, kernel: np.ndarray, bias: float) -> keras.Model:
    """``model`` with one more output, ``photo_type``: the probability of a clinical close-up (N, 1)."""
    unit = keras.layers.Dense(1, activation="sigmoid", name=PHOTO_TYPE_OUTPUT)
    output = unit(photo_type_features(model))
    unit.set_weights([kernel.astype(np.float32), np.array([bias], np.float32)])
    return keras.Model(model.inputs, [*model.outputs, output], name=model.name)


def fitted_photo_type_output(model: keras.Model, images: np.ndarray, image_types: list[str]) -> keras.Model:
    """``model`` with the ``photo_type`` output fitted on training ``images`` of known ``image_types``."""
    features = keras.Model(model.inputs, photo_type_features(model))
    observed = features.predict(images.astype(np.float32), batch_size=64, verbose=0)
    return with_photo_type_output(model, *fit_photo_type(observed, is_clinical(image_types)))


def photo_types(clinical_probability: np.ndarray) -> np.ndarray:
    """The photo type name of each output value."""
    return np.where(np.asarray(clinical_probability).ravel() >= CLINICAL_FROM, PHOTO_TYPES[1], PHOTO_TYPES[0])


def photo_type_decision(clinical_probability: np.ndarray, clinical: np.ndarray) -> dict:
    """The manifest's ``decision.photo_type`` entry, with its validation accuracy per true type."""
    said_clinical = photo_types(clinical_probability) == "clinical"
    return {
        "output": PHOTO_TYPE_OUTPUT,
        "clinical_from": CLINICAL_FROM,
        "types": list(PHOTO_TYPES),
        "rule": f"the model's '{PHOTO_TYPE_OUTPUT}' output (probability of an ordinary clinical close-up, from a "
        "logistic regression on the pooled backbone features fitted on training images) at or above "
        "clinical_from: clinical, else dermoscopic; each type has its own advice tiers",
        "validation": {
            "balanced_accuracy": float(balanced_accuracy_score(clinical, said_clinical)),
            "dermoscopic_recall": float((~said_clinical[~clinical]).mean()) if (~clinical).any() else None,
            "clinical_recall": float(said_clinical[clinical].mean()) if clinical.any() else None,
            "images": len(clinical),
        },
    }
