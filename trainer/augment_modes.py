"""Names of the augmentation modes (importable without TensorFlow, for the CLI)."""

AUGMENT_MODES = ("device", "dermoscopy", "baseline", "none")
AUGMENT_ALIASES = {"seed": "baseline"}  # deprecated spelling
