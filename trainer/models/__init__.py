"""Model architectures, selected by name with ``--arch``; builders are imported only when used."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer.models.heads import Network

# --arch name -> "module:builder" (lazy, so the CLI can list architectures without importing TensorFlow).
ARCHITECTURES: dict[str, str] = {
    "efficientnet-lite0": "trainer.models.efficientnet_lite:build_efficientnet_lite0",
    "compact-cnn": "trainer.models.compact_cnn:build_compact_cnn",
    "baseline-cnn": "trainer.models.baseline_cnn:build_baseline_cnn",
}
ARCHITECTURE_ALIASES = {"seed-cnn": "baseline-cnn"}  # deprecated spelling
INPUT_OPTION_ARCHITECTURES = ("efficientnet-lite0",)  # those that take ``upsample`` and ``colour_constancy``
DEFAULT_ARCH = "efficientnet-lite0"
LOGITS_LAYER = "logits"


def build_network(arch: str, upsample: float = 1.0, colour_constancy: str = "none") -> Network:
    """Build a fresh network: float32 RGB 0..255 in, softmax over the 7 classes out."""
    arch = ARCHITECTURE_ALIASES.get(arch, arch)
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown --arch {arch!r}; choose from {sorted(ARCHITECTURES)}")
    module, builder = ARCHITECTURES[arch].split(":")
    options = {
        name: value
        for name, value, default in (("upsample", upsample, 1.0), ("colour_constancy", colour_constancy, "none"))
        if value != default
    }
    if options and arch not in INPUT_OPTION_ARCHITECTURES:
        flags = ", ".join("--" + name.replace("_", "-") for name in options)
        raise ValueError(f"{flags} supported by {INPUT_OPTION_ARCHITECTURES} only, not {arch!r}")
    return getattr(import_module(module), builder)(**options)
