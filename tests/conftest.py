"""Shared test settings: offline hubs, opt-in GPU tests, the path to the shared real data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
# run-scenario answers repeated prompts from the response cache: tests use a fresh one per session
os.environ.setdefault(
    "MGREASON_RESPONSE_CACHE", str(Path(tempfile.mkdtemp(prefix="mgreason-test-cache-")) / "responses.sqlite")
)

# items that are recordings are transcribed through the transcript cache: tests use a fresh one per session
os.environ.setdefault("MGREASON_TRANSCRIPT_CACHE", tempfile.mkdtemp(prefix="mgreason-test-transcripts-"))

REPO = Path(__file__).resolve().parents[1]
SHARED_IMIGUE = REPO.parent / "shared" / "data" / "imigue"


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # pragma: no cover
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA device (gpu tests are opt-in)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def imigue_dir() -> Path:
    """The real iMiGUE annotations beside the checkout (`../shared/data/imigue`); skip when absent."""
    if not (SHARED_IMIGUE / "labels_20200831.csv").is_file():
        pytest.skip("real iMiGUE data not available at ../shared/data/imigue")
    return SHARED_IMIGUE
