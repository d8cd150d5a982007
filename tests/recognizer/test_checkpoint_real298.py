"""The bundled tiny-real298 checkpoint (tiny-synth fine-tuned on one real recording, issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mgreason.recognizer.inference import Recognizer, bundled_checkpoint_path
from mgreason.transcribe.tuning import checkpoint_segmentation

IMIGUE_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "imigue"


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load(bundled_checkpoint_path("tiny-real298"))


def test_self_describing_card_and_settings(rec):
    p = bundled_checkpoint_path("tiny-real298")
    card = (p / "README.md").read_text()
    assert "one real subject" in card and "synthetic" in card
    base = Recognizer.load(bundled_checkpoint_path("tiny-synth"))
    assert rec.labels == base.labels and rec.config["arch"] == base.config["arch"]
    tr = rec.config["training"]
    assert tr["data"]["source"] == "openpose" and tr["data"]["split"].startswith("time")
    assert tr["data"]["init_checkpoint"].endswith("tiny-synth")
    prm = checkpoint_segmentation(rec.config)
    assert prm.temperature == rec.config["calibration"]["temperature"]
    assert rec.config["segmentation"]["tuned_on"]["events"] == 16  # the 300-420 s span of video 298


def test_classifies_and_scores_frames(rec):
    from mgreason.synth import generate_session

    s = generate_session(0.3, seed=11)
    fs = rec.frame_scores(s.sequence)
    assert fs.probs.shape == (s.sequence.num_frames, len(rec.labels))
    assert np.allclose(fs.probs.sum(1), 1.0, atol=1e-4)
