"""Shared fixtures: generated datasets, a tiny trained model, the real-data location."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Keep the decoded-image cache of test runs out of the user's home cache.
os.environ.setdefault("LESION_CACHE_DIR", tempfile.mkdtemp(prefix="lesion-test-cache-"))

from tests.image_factory import write_ham_layout

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "ham10000"
SHIPPED_MODEL = REPO_ROOT / "model_artifacts"

needs_real_data = pytest.mark.skipif(
    not (REAL_DATA / "HAM10000_metadata.csv").is_file(),
    reason=f"real HAM10000 data not found at {REAL_DATA} (it lives in ../shared, outside the repository)",
)
needs_shipped_model = pytest.mark.skipif(
    not (SHIPPED_MODEL / "model.json").is_file(), reason="no committed model in model_artifacts/"
)


@pytest.fixture(scope="session")
def ham_layout(tmp_path_factory) -> Path:
    """A tiny generated HAM10000-layout dataset (6 images per class, 200x150 JPEGs)."""
    return write_ham_layout(tmp_path_factory.mktemp("ham"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, ham_layout) -> Path:
    """A compact CNN trained for one epoch on the generated dataset and exported by `trainer build`."""
    from trainer.build import BuildOptions, build

    out = tmp_path_factory.mktemp("models") / "tiny"
    build(BuildOptions(data=ham_layout, out=out, arch="compact-cnn", epochs=1, quantization="float16"))
    return out


@pytest.fixture(scope="session")
def app_model(request) -> Path:
    """The model the web app serves in browser tests: LESION_TEST_MODEL when set (a candidate
    model folder), else the committed one when there is one (the product), else the tiny test model."""
    if os.environ.get("LESION_TEST_MODEL"):
        return Path(os.environ["LESION_TEST_MODEL"])
    if (SHIPPED_MODEL / "model.json").is_file():
        return SHIPPED_MODEL
    return request.getfixturevalue("tiny_model")
