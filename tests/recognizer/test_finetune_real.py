"""Fine-tuning the bundled checkpoint on a real recording split by time (configs/recognizer/tiny-real298.yaml).

Real data: the first 30 s of iMiGUE video 298 (one subject, within-recording); skipped without ../shared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mgreason.recognizer.calibration import apply_temperature, calibration_report, expected_calibration_error, fit_temperature
from mgreason.recognizer.config import load_config
from mgreason.recognizer.inference import Recognizer, bundled_checkpoint_path
from mgreason.transcribe.finish import train_and_finish

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "recognizer" / "tiny-real298.yaml"
IMIGUE_DATA = REPO.parent / "shared" / "data" / "imigue"


def test_temperature_scaling_recovers_an_overconfident_model():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, (3000, 6))
    p_true = apply_temperature(z, 1.0)
    y = np.array([rng.choice(6, p=p) for p in p_true])
    over = apply_temperature(3.0 * z, 1.0)  # three times too sure
    assert fit_temperature(over, y) == pytest.approx(3.0, rel=0.15)
    rep = calibration_report(over, y)
    assert rep["ece_after"] < rep["ece_before"] / 3 and rep["nll_after"] < rep["nll_before"]
    assert expected_calibration_error(p_true, y) < 0.05


@pytest.mark.slow
def test_finetune_on_a_time_split_recording(tmp_path):
    op = IMIGUE_DATA / "openpose_298_first30s"
    if not op.is_dir():
        pytest.skip("../shared/data/imigue is not available")
    cfg = load_config(CONFIG, {
        "data.path": str(op), "data.labels_csv": str(IMIGUE_DATA / "labels_20200831.csv"),
        "data.time_split": {"train": [0, 20], "val": [20, 30]}, "data.background.per_minute": 12,
        "data.mix_synth.clips_per_class": 1, "data.mix_synth.background_clips": 4, "data.repeat_train": 1,
        "optim.epochs": 1, "optim.max_steps": 2, "optim.batch_size": 8, "optim.num_threads": 1,
        "out_dir": str(tmp_path / "ft"),
    })  # fmt: skip
    res = train_and_finish(cfg, progress=False)
    ck = res.out_dir / "best"
    conf = json.loads((ck / "config.json").read_text())
    base = Recognizer.load(bundled_checkpoint_path())
    assert conf["labels"] == list(base.labels) and conf["arch"] == base.config["arch"]
    seg = conf["segmentation"]["params"]
    assert seg["temperature"] == conf["calibration"]["temperature"] > 0
    table = conf["segmentation"]["coarse_below_tuning"]
    assert [r["coarse_below"] for r in table] == [0.0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]
    assert seg["coarse_below"] in {r["coarse_below"] for r in table}
    assert conf["segmentation"]["tuned_on"]["events"] == 1  # the one annotation inside 20-30 s
    data = conf["training"]["data"]
    assert data["split"].startswith("time") and data["mix_synth"]["clips"] > 0
    assert data["init_checkpoint"].endswith("tiny-synth")
    rec = Recognizer.load(ck)  # loads, and its segmentation parameters are accepted
    assert rec.labels == base.labels
