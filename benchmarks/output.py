"""What a single-purpose benchmark command shares: a model folder in (with the split it was built on), results
out as JSON where asked and as Markdown."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from trainer.build import Parts, split_of
from trainer.predict import ExportedModel


def command_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """A parser with the options every such command has: ``--model`` and ``--json``."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="exported model folder")
    parser.add_argument("--json", type=Path, dest="json_out", help="also write the results here")
    return parser


def model_split(model: ExportedModel, data: list[Path]) -> Parts:
    """The split ``model`` was built with, recomputed from its ``--data`` folders and its manifest's split facts
    (:func:`trainer.build.split_of`, which refuses folders that give another split)."""
    return split_of(model.manifest, tuple(data))[2]


def emit(results: dict, json_out: Path | None, text: str) -> int:
    """Write ``results`` to ``json_out`` (when given), print ``text``; the command's exit status."""
    if json_out:
        json_out.write_text(json.dumps(results, indent=2) + "\n")
    print(text)
    return 0
