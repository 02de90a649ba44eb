"""The seed project's CNN exported the way the page loads a model, for side-by-side figures."""

from __future__ import annotations

from pathlib import Path


def export_seed_cnn(folder: Path) -> Path:
    """Export ``trainer.models.build_network("baseline-cnn")`` (float32, with manifest) into a new ``folder``.

    Its weights are untrained: download size and inference time do not depend on their values.
    """
    from trainer.export import MANIFEST_FILE, build_manifest, save_tfjs, write_json
    from trainer.models import build_network

    model = build_network("baseline-cnn").model
    folder.mkdir(parents=True)
    save_tfjs(model, folder, "none")
    info = {
        "architecture": "seed-cnn",
        "input_shape": list(model.input_shape[1:]),
        "parameters": int(model.count_params()),
        "quantization": "none",
        "note": "untrained weights, for size and speed only",
    }
    write_json(folder / MANIFEST_FILE, build_manifest(folder, info, {}))
    return folder
