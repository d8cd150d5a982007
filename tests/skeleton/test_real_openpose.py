"""The real OpenPose sample of iMiGUE video 298 (first 30 s); skipped when absent."""

import numpy as np
import pytest

from mgreason.datasets.imigue_labels import load_imigue
from mgreason.skeleton import map_sequence, preprocess, read_openpose_dir
from mgreason.skeleton.layouts import get_layout


@pytest.fixture(scope="module")
def sample(imigue_data):
    d = imigue_data / "openpose_298_first30s"
    if not d.is_dir():
        pytest.skip("../shared/data/imigue/openpose_298_first30s is not available")
    return read_openpose_dir(d, fps=25.0)


def test_loads_750_frames_of_137_keypoints(sample):
    assert sample.num_frames == 750 and sample.num_joints == 137 and sample.layout == "openpose137"
    assert sample.meta["bad_files"] == [] and sample.meta["missing_frames"] == []
    assert sample.valid[:, :25].mean() > 0.3
    # image-plane coordinates in pixels, the person's right side on the image left
    L = get_layout("openpose137")
    rs, ls = sample.joint("right_shoulder"), sample.joint("left_shoulder")
    assert np.nanmedian(rs[:, 0]) < np.nanmedian(ls[:, 0])


def test_maps_to_imigue22(sample):
    s = map_sequence(sample, "imigue22")
    assert s.num_joints == 22 and s.meta["missing_joints"] == []
    lay = s.layout_obj
    for j in ("nose", "neck", "right_shoulder", "left_shoulder", "right_eye", "left_eye"):
        assert s.valid[:, lay.index(j)].mean() > 0.95, j
    p = preprocess(s)
    assert np.isfinite(p.coords).all()
    width = np.linalg.norm(p.coords[:, 2] - p.coords[:, 5], axis=-1)
    assert np.median(width) == pytest.approx(1.0, abs=0.05)


def test_head_touch_annotation_matches_the_skeleton(sample, imigue_data):
    """Annotated 'touching or scratching head' at 6.75-10.28 s: a hand is above the eyes then, not before."""
    tr = load_imigue(imigue_data / "labels_20200831.csv").transcript(298)
    ev = tr.events[0]
    assert ev.label == "touching or scratching head"
    s = preprocess(map_sequence(sample, "imigue22"))
    lay = s.layout_obj
    eyes_y = (s.coords[:, lay.index("right_eye"), 1] + s.coords[:, lay.index("left_eye"), 1]) / 2
    tips = [lay.index(f"{side}_{f}_tip") for side in ("right", "left") for f in ("index", "middle", "ring")]
    tip_y = np.where(s.confidence[:, tips] > 0, s.coords[:, tips, 1], np.inf).min(axis=1)
    above = tip_y < eyes_y  # y grows downwards
    a, b = int(ev.start_s * 25), int(ev.end_s * 25)
    during = above[a + 10 : b - 10].mean()
    before = above[: a - 25].mean()
    assert during > 0.6 and before < 0.1, (during, before)
