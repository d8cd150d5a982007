"""Shared pieces of the viz tests: small transcripts, a scores file, a skeleton recording, and the
real iMiGUE sample beside the checkout (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mgreason.transcript import MGEvent, Transcript

REPO = Path(__file__).resolve().parents[2]
IMIGUE = REPO.parent / "shared" / "data" / "imigue"
REAL_OPENPOSE = IMIGUE / "openpose_298_first30s"
LABELS = IMIGUE / "labels_20200831.csv"

HEAD = "touching or scratching head"  # iMiGUE label id 3
EYES = "rubbing eyes"  # 5
ARMS = "folding arms"  # 16


def ev(a: float, b: float, label: str, conf: float = 1.0, source: str = "annotation") -> MGEvent:
    return MGEvent(start_s=a, end_s=b, label=label, confidence=conf, source=source)


@pytest.fixture
def pair() -> tuple[Transcript, Transcript]:
    """A prediction and its ground truth over 12 s: one match (head), one false alarm (arms, which
    overlaps the annotated eyes), one miss (eyes)."""
    pred = Transcript(
        id="rec1", fps=25.0, duration_s=12.0, taxonomy="imigue",
        events=[ev(1.0, 3.0, HEAD, 0.9, "recognizer"), ev(8.2, 9.2, ARMS, 0.3, "recognizer")],
    )  # fmt: skip
    gt = Transcript(id="rec1", fps=25.0, duration_s=12.0, taxonomy="imigue",
                    events=[ev(1.2, 3.1, HEAD), ev(8.0, 9.0, EYES)])  # fmt: skip
    return pred, gt


@pytest.fixture
def pair_files(tmp_path, pair) -> tuple[Path, Path]:
    p, g = tmp_path / "pred" / "rec1.json", tmp_path / "gt" / "rec1.json"
    p.parent.mkdir()
    g.parent.mkdir()
    pair[0].write(p)
    pair[1].write(g)
    return p, g


def write_scores(path: Path, labels: list[str], T: int = 300, fps: float = 25.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    probs = rng.random((T, len(labels))).astype(np.float32)
    probs /= probs.sum(axis=1, keepdims=True)
    np.savez_compressed(path, times=(np.arange(T) / fps).astype(np.float32), probs=probs,
                        labels=np.array(labels), fps=np.float64(fps))  # fmt: skip
    return probs


@pytest.fixture
def real_sample() -> Path:
    if not (REAL_OPENPOSE.is_dir() and LABELS.is_file()):
        pytest.skip("../shared/data/imigue (OpenPose sample + labels) is not available")
    return REAL_OPENPOSE


def gt_298() -> Transcript:
    from mgreason.datasets import load_imigue

    return load_imigue(LABELS).transcript(298)
