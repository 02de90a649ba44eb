"""A distillation teacher's cached soft labels: written by ``trainer teach``, read by ``trainer build --teacher``.

A teacher folder holds the teacher's class probabilities for every training image, keyed by image id, and
the facts of the teacher (its members, temperatures and validation scores). It records which images it
held out (validation, test and any held-out source), so that a student is only taught on a split whose
held-out images no member trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

TARGETS_FILE = "teacher_targets.npz"
FACTS_FILE = "teacher.json"
DEFAULT_TEACHER_WEIGHT = 0.4
TEACHER_WEIGHT_LIMIT = 0.5  # weights stay below it, so a blended target's argmax is its true class


class TeacherError(ValueError):
    """A teacher folder that cannot teach this build; the message says why."""


def held_out_digest(image_ids: list[str]) -> str:
    """A fingerprint of the set of held-out image ids (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(image_ids)).encode()).hexdigest()


def write_teacher(folder: Path, image_ids: list[str], probabilities: np.ndarray, facts: dict) -> None:
    """Write the soft labels (rows of class probabilities) and the teacher's facts into ``folder``."""
    np.savez_compressed(
        folder / TARGETS_FILE, image_ids=np.asarray(image_ids), probabilities=probabilities.astype(np.float32)
    )
    (folder / FACTS_FILE).write_text(json.dumps(facts, indent=2) + "\n")


def read_facts(folder: Path) -> dict:
    """The teacher's facts, or a clear error when ``folder`` is not a teacher folder."""
    path = Path(folder) / FACTS_FILE
    if not path.is_file():
        raise TeacherError(f"{folder} is not a teacher folder (no {FACTS_FILE}); write one with `trainer teach`")
    return json.loads(path.read_text())


def teacher_probabilities(folder: Path, image_ids: list[str], held_out_ids: list[str]) -> np.ndarray:
    """The teacher's probabilities for ``image_ids`` (repeats allowed), refusing a teacher of another split."""
    facts = read_facts(folder)
    if facts.get("held_out_digest") != held_out_digest(held_out_ids):
        raise TeacherError(
            f"the teacher in {folder} held out other images than this build: its members may have trained on "
            "this build's validation or test images. Run `trainer teach` with this build's --data, --seed, "
            "--split and --holdout-source"
        )
    with np.load(Path(folder) / TARGETS_FILE) as cache:
        rows = {image_id: row for row, image_id in enumerate(cache["image_ids"].tolist())}
        probabilities = cache["probabilities"]
    missing = [image_id for image_id in dict.fromkeys(image_ids) if image_id not in rows]
    if missing:
        raise TeacherError(
            f"the teacher in {folder} has no soft label for {len(missing)} training image(s), e.g. {missing[:3]}"
        )
    return probabilities[[rows[image_id] for image_id in image_ids]]
