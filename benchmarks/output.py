"""What a single-purpose benchmark command shares: a model folder in, results out as JSON where asked and as
Markdown."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def command_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """A parser with the options every such command has: ``--model`` and ``--json``."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="exported model folder")
    parser.add_argument("--json", type=Path, dest="json_out", help="also write the results here")
    return parser


def emit(results: dict, json_out: Path | None, text: str) -> int:
    """Write ``results`` to ``json_out`` (when given), print ``text``; the command's exit status."""
    if json_out:
        json_out.write_text(json.dumps(results, indent=2) + "\n")
    print(text)
    return 0
