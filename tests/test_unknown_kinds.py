"""Lesions of kinds the model was never taught: MILK10k's left-out diagnoses are read apart from the
training images, and the benchmark counts the page's answer for every one of their photos."""

from __future__ import annotations

import json

from benchmarks.unknown_kinds import main
from tests.image_factory import write_milk_layout
from trainer.milk10k import CLASS_MAP, read_left_out, read_milk10k
from trainer.predict import ExportedModel

LEFT_OUT = sorted(name for name, code in CLASS_MAP.items() if code is None)


def test_left_out_images_are_exactly_those_training_never_reads(tmp_path):
    folder = write_milk_layout(tmp_path / "milk", lesions_per_diagnosis=2)
    left_out, trained = read_left_out(folder), read_milk10k(folder)
    assert sorted({image.diagnosis for image in left_out}) == LEFT_OUT
    assert len(left_out) == 2 * 2 * len(LEFT_OUT)  # two lesions, two photos each
    assert {image.image_type for image in left_out} == {"clinical", "dermoscopic"}
    assert not {image.image_id for image in left_out} & {file.image_id for file in trained}


def test_the_benchmark_counts_the_pages_tier_for_every_left_out_photo(tiny_model, tmp_path):
    folder = write_milk_layout(tmp_path / "milk", lesions_per_diagnosis=2)
    out = tmp_path / "unknown.json"
    assert main(["--model", str(tiny_model), "--milk10k", str(folder), "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert sorted(results) == LEFT_OUT
    tiers = ExportedModel(tiny_model).assess_files([image.path for image in read_left_out(folder)])
    said = sorted(answer["tier"] for answer in tiers.values())
    counted = sorted(tier for kinds in results.values() for counts in kinds.values() for tier, n in counts.items()
                     for _ in range(n))  # fmt: skip
    assert counted == said
    for kinds in results.values():
        assert {kind: sum(counts.values()) for kind, counts in kinds.items()} == {"clinical": 2, "dermoscopic": 2}
