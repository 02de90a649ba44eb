"""The model card: data summaries, the card files `trainer build` writes, and the /model-card page.

The card is generated for the committed model into a temporary folder; model_artifacts/ is not touched.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import SHIPPED_MODEL
from tests.image_factory import write_milk_layout
from trainer.data_summary import summarise_ham_metadata, summarise_milk_metadata
from trainer.datasets import DatasetError
from trainer.model_card import CARD_JSON, CARD_MARKDOWN, manifest_sha256, model_details, write_model_card
from trainer.skin_tone import skin_tone_summary
from webapp.config import Settings
from webapp.main import create_app

MITCHELL_SECTIONS = [
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
]
# Names and citations in the card's prose that contain digits but are not measurements.
NAMES = re.compile(
    r"HAM10000|MILK10k|EfficientNet-Lite0|CC BY-NC 4\.0|Apache-2\.0|FAT\* 2019|Chardon et al\. 1991|\(2013\)"
    r"|\(2018\)|doi:\S+|ISIC 2025|x86_64|3:4|[0-9a-f]{64}"
)
NUMBER = re.compile(r"\d+(?:\.\d+)?")

HAM_CSV = """lesion_id,image_id,dx,dx_type,age,sex,localization,dataset
L1,I1,nv,histo,45.0,male,back,rosendahl
L1,I2,nv,histo,45.0,male,back,rosendahl
L2,I3,mel,histo,70.0,female,face,vidir_modern
L3,I4,bkl,consensus,,unknown,unknown,vidir_modern
L4,I5,nv,follow_up,25.0,female,lower extremity,vidir_molemax
"""


def test_ham_summary_counts_people_sites_and_sources(tmp_path):
    path = tmp_path / "HAM10000_metadata.csv"
    path.write_text(HAM_CSV)
    summary = summarise_ham_metadata(path)
    assert (summary["images"], summary["lesions"]) == (5, 4)
    assert list(summary["diagnosis"]) == ["nv", "mel", "bkl"]
    assert summary["diagnosis"]["nv"] == {"n": 3, "share": 0.6}
    assert summary["sex"]["unknown"] == {"n": 1, "share": 0.2}
    assert summary["source"]["vidir_modern"]["n"] == 2
    assert summary["body_site"]["lower extremity"]["n"] == 1
    age = summary["age"]
    assert (age["recorded"], age["missing"], age["median"]) == (4, 1, 45.0)
    assert age["bands"]["30 to 49"]["n"] == 2 and age["bands"]["under 30"]["n"] == 1


def test_summaries_name_a_missing_column_or_file(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text("lesion_id,image_id\nL1,I1\n")
    with pytest.raises(DatasetError, match="lacks the column"):
        summarise_ham_metadata(path)
    with pytest.raises(DatasetError, match="not found"):
        summarise_milk_metadata(tmp_path / "absent.csv")


def test_milk_summary_has_image_types_and_labelled_skin_tone(tmp_path):
    summary = summarise_milk_metadata(write_milk_layout(tmp_path) / "MILK10k_Training_Metadata.csv")
    assert summary["image_type"].keys() == {"clinical: close-up", "dermoscopic"}
    assert summary["images"] == 2 * summary["lesions"]
    assert sum(d["n"] for d in summary["skin_tone_class"].values()) == summary["images"]


@pytest.fixture(scope="module")
def card_folder(tmp_path_factory) -> tuple[Path, dict, dict, dict]:
    """A copy of the committed manifest with a card written beside it, and the facts it came from."""
    if not (SHIPPED_MODEL / "report" / "metrics.json").is_file():
        pytest.skip("no committed model with a report in model_artifacts/")
    folder = tmp_path_factory.mktemp("card")
    shutil.copy(SHIPPED_MODEL / "manifest.json", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    metrics = json.loads((SHIPPED_MODEL / "report" / "metrics.json").read_text())
    ham = folder / "HAM10000_metadata.csv"
    ham.write_text(HAM_CSV)
    milk = write_milk_layout(tmp_path_factory.mktemp("milk")) / "MILK10k_Training_Metadata.csv"
    ita = np.array([60.0, 45.0, 20.0, -35.0, np.nan])
    facts = {
        "datasets": [summarise_ham_metadata(ham), summarise_milk_metadata(milk)],
        "skin_tone": skin_tone_summary(ita, ["a", "a", "b", "b", "b"], ["5", "4", "3", "2", "1"]),
    }
    write_model_card(folder, manifest, metrics, facts)
    return folder, manifest, metrics, facts


def test_card_files_follow_mitchell_et_al_and_name_the_manifest(card_folder):
    folder, _, metrics, _ = card_folder
    card = json.loads((folder / CARD_JSON).read_text())
    titles = [s["title"] for s in card["sections"]]
    assert [t for t in titles if t in MITCHELL_SECTIONS] == MITCHELL_SECTIONS
    assert card["manifest_sha256"] == manifest_sha256(folder)
    markdown = (folder / CARD_MARKDOWN).read_text()
    assert "Mitchell et al." in markdown and card["manifest_sha256"] in markdown
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == titles
    assert f"{metrics['test']['balanced_accuracy']:.3f}" in markdown
    assert "not for diagnosis" in markdown.lower() or "out of scope: diagnosis" in markdown.lower()


def numbers_in(value, found: set[str]) -> set[str]:
    """Every way the card may print the numbers of a JSON value: its numbers, formatted, and those in its strings."""
    if isinstance(value, dict):
        for key, item in value.items():
            numbers_in(key, found)
            numbers_in(item, found)
    elif isinstance(value, list):
        for item in value:
            numbers_in(item, found)
    elif isinstance(value, str):
        found.update(NUMBER.findall(value))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found.update({str(value), f"{value:.3f}", f"{value:.2f}", f"{100 * value:.1f}", f"{value:.0%}".rstrip("%")})
        found.add(str(round(value)))
        if float(value).is_integer():
            found.add(str(int(value)))
    return found


def page_text(response) -> str:
    article = re.search(r"<article.*?</article>", response.text, re.S).group(0)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", article)).split())


def client_for(folder: Path) -> TestClient:
    return TestClient(create_app(Settings(model_dir=folder, node_modules=Settings().node_modules)))


def test_every_number_on_the_page_comes_from_the_manifest_metrics_and_data_facts(card_folder):
    folder, manifest, metrics, facts = card_folder
    response = client_for(folder).get("/model-card")
    assert response.status_code == 200
    text = page_text(response)
    assert manifest_sha256(folder) in text
    allowed = numbers_in([manifest, metrics, facts], set())
    shown = NUMBER.findall(NAMES.sub(" ", text))
    assert len(shown) > 100
    assert [n for n in shown if n not in allowed] == []
    test = metrics["test"]
    for figure in (test["balanced_accuracy"], test["macro_auc"], test["per_class"]["mel"]["recall"]):
        assert f"{figure:.3f}" in text
    assert f"{manifest['decision']['uncertain_below']:.3f}" in text and str(test["n"]) in text


def test_the_page_refuses_a_missing_or_stale_card(card_folder, tmp_path):
    folder, *_ = card_folder
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(folder / "manifest.json", bare)
    response = client_for(bare).get("/model-card")
    assert response.status_code == 503 and "built without a model card" in response.text
    stale = tmp_path / "stale"
    shutil.copytree(folder, stale)
    (stale / "manifest.json").write_text((stale / "manifest.json").read_text() + " ")
    response = client_for(stale).get("/model-card")
    assert response.status_code == 503 and "describes another model" in response.text


def test_footer_and_result_link_to_the_card(card_folder):
    folder, *_ = card_folder
    page = client_for(folder).get("/").text
    footer = re.search(r"<footer.*?</footer>", page, re.S).group(0)
    results = re.search(r'<section id="results".*?</section>', page, re.S).group(0)
    assert 'href="/model-card"' in footer and 'href="/model-card"' in results


def test_a_build_with_reused_weights_says_so(card_folder):
    _, manifest, metrics, _ = card_folder

    def details(reused_weights: str | None) -> str:
        training = {**metrics["training"], "reused_weights": reused_weights, "trained_by": None}
        return " ".join(map(str, model_details(manifest, {**metrics, "training": training}, "0" * 64)))

    assert "trained by an earlier build" in details("run/trained_weights.h5")
    assert f"Training ran {metrics['training']['epochs_run']}" in details("run/trained_weights.h5")
    assert "earlier build" not in details(None)
