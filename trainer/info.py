"""Dataset facts: the one source of truth for class codes, names and descriptions.

The manifest copies these into ``model_artifacts/manifest.json`` and the web page reads them
from there, so the browser never hard-codes a class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LesionClass:
    """One HAM10000 diagnostic category."""

    code: str
    name: str
    summary: str
    malignant: bool
    urgent: bool
    look: str
    advice: str


CLASSES: tuple[LesionClass, ...] = (
    LesionClass(
        code="akiec",
        name="Actinic keratosis / intraepithelial carcinoma",
        summary="A sun-damage lesion that can be an early, superficial skin cancer (Bowen's disease).",
        malignant=True,
        urgent=True,
        look="Rough, scaly, pink to red-brown patch on sun-exposed skin such as the face or hands.",
        advice="See a dermatologist soon: it is treatable, and treatment prevents progression.",
    ),
    LesionClass(
        code="bcc",
        name="Basal cell carcinoma",
        summary="The most common skin cancer; it grows slowly and rarely spreads, but destroys tissue.",
        malignant=True,
        urgent=True,
        look="Pearly or shiny bump, often with fine visible blood vessels, or a sore that does not heal.",
        advice="See a dermatologist promptly: early removal is simple and curative.",
    ),
    LesionClass(
        code="bkl",
        name="Benign keratosis",
        summary="Harmless growths: seborrhoeic keratosis, solar lentigo or lichen-planus-like keratosis.",
        malignant=False,
        urgent=False,
        look="Waxy, 'stuck-on' brown patch or flat, evenly brown sun spot.",
        advice="Usually harmless, but it can mimic melanoma: have a changing spot checked.",
    ),
    LesionClass(
        code="df",
        name="Dermatofibroma",
        summary="A common, harmless firm nodule in the skin, often after a small injury or insect bite.",
        malignant=False,
        urgent=False,
        look="Small firm brown-pink bump, often on the legs, that dimples when pinched.",
        advice="Harmless; see a doctor if it grows, bleeds or changes.",
    ),
    LesionClass(
        code="mel",
        name="Melanoma",
        summary="A dangerous skin cancer of the pigment cells that can spread if not removed early.",
        malignant=True,
        urgent=True,
        look="Asymmetric spot with irregular border, several colours, diameter over 6 mm, or changing.",
        advice="See a dermatologist as soon as possible: early removal saves lives.",
    ),
    LesionClass(
        code="nv",
        name="Melanocytic nevus (mole)",
        summary="A common mole: a benign cluster of pigment cells.",
        malignant=False,
        urgent=False,
        look="Round or oval, evenly coloured brown spot with a smooth, regular border.",
        advice="Usually harmless; watch for change in size, shape or colour and have it checked if so.",
    ),
    LesionClass(
        code="vasc",
        name="Vascular lesion",
        summary="Benign blood-vessel lesions such as cherry angiomas, angiokeratomas or pyogenic granulomas.",
        malignant=False,
        urgent=False,
        look="Red, purple or blue well-defined spot or bump.",
        advice="Usually harmless; see a doctor if it bleeds repeatedly or grows quickly.",
    ),
)

CLASS_CODES: tuple[str, ...] = tuple(c.code for c in CLASSES)
NUM_CLASSES = len(CLASSES)
CODE_TO_INDEX: dict[str, int] = {code: i for i, code in enumerate(CLASS_CODES)}


def classes_for_manifest() -> list[dict]:
    """Return the class table, in model output order, as JSON-ready dicts."""
    return [{"index": i, **asdict(c)} for i, c in enumerate(CLASSES)]
