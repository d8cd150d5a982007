import numpy as np

from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.mapping import build_mapping, map_sequence
from mgreason.skeleton.sequence import SkeletonSequence


def _random_seq(layout, rng, T=7, C=2):
    V = get_layout(layout).num_joints
    return SkeletonSequence(rng.normal(size=(T, V, C)) * 100, rng.uniform(0.1, 1, (T, V)), 25.0, layout)


def test_imigue22_roundtrip_through_openpose137(rng):
    s = _random_seq("imigue22", rng)
    big = map_sequence(s, "openpose137")
    assert big.num_joints == 137
    # joints imigue22 lacks are missing: confidence 0, NaN coordinates
    face = get_layout("openpose137").index("chin")
    assert np.all(big.confidence[:, face] == 0) and np.all(np.isnan(big.coords[:, face]))
    back = map_sequence(big, "imigue22")
    np.testing.assert_array_equal(back.coords, s.coords)
    np.testing.assert_array_equal(back.confidence, s.confidence)


def test_openpose137_to_imigue22_to_openpose137_keeps_shared_joints(rng):
    s = _random_seq("openpose137", rng)
    small = map_sequence(s, "imigue22")
    assert small.meta["missing_joints"] == []
    back = map_sequence(small, "openpose137", derive=False)
    src = get_layout("openpose137")
    for j in get_layout("imigue22").joints:
        i = src.index(j)
        np.testing.assert_array_equal(back.coords[:, i], s.coords[:, i])
    kept = {src.index(j) for j in get_layout("imigue22").joints}
    others = [i for i in range(137) if i not in kept]
    assert np.all(back.confidence[:, others] == 0)


def test_mapping_uses_names_not_indices(rng):
    s = _random_seq("openpose25", rng)
    m = map_sequence(s, "coco17")
    src, dst = get_layout("openpose25"), get_layout("coco17")
    for name in ("left_wrist", "right_ear", "nose", "left_knee"):
        np.testing.assert_array_equal(m.coords[:, dst.index(name)], s.coords[:, src.index(name)])


def test_derived_neck_and_missing_fingertips(rng):
    s = _random_seq("coco17", rng)
    m = map_sequence(s, "imigue22")
    src, dst = get_layout("coco17"), get_layout("imigue22")
    mid = (s.coords[:, src.index("left_shoulder")] + s.coords[:, src.index("right_shoulder")]) / 2
    np.testing.assert_allclose(m.coords[:, dst.index("neck")], mid, rtol=1e-6)
    conf = np.minimum(s.confidence[:, src.index("left_shoulder")], s.confidence[:, src.index("right_shoulder")])
    np.testing.assert_allclose(m.confidence[:, dst.index("neck")], conf)
    tips = [dst.index(f"right_{f}_tip") for f in ("thumb", "index", "middle", "ring", "pinky")]
    assert np.all(m.confidence[:, tips] == 0) and np.all(np.isnan(m.coords[:, tips]))
    assert set(m.meta["missing_joints"]) >= {"right_thumb_tip", "left_pinky_tip"}
    # without derivation the neck is missing too
    assert "neck" in build_mapping("coco17", "imigue22", derive=False).missing


def test_mediapipe_holistic_fills_imigue22(rng):
    m = build_mapping("mediapipe75", "imigue22")
    assert m.missing == []
    assert m.derived_names == ["neck"]
    # pose-only MediaPipe gets approximate fingertips from its pose finger points
    m33 = build_mapping("mediapipe33", "imigue22")
    assert "right_thumb_tip" in m33.derived_names and m33.missing == []


def test_invalid_source_joint_stays_invalid(rng):
    s = _random_seq("openpose25", rng)
    s.confidence[2, 4] = 0.0  # right wrist unseen in frame 2
    m = map_sequence(s, "imigue22")
    j = get_layout("imigue22").index("right_wrist")
    assert m.confidence[2, j] == 0 and np.all(np.isnan(m.coords[2, j]))
    assert m.valid[3, j]


def test_3d_channels_survive_mapping(rng):
    s = _random_seq("ntu25", rng, C=3)
    m = map_sequence(s, "imigue22")
    assert m.num_channels == 3
    j = get_layout("imigue22").index("left_wrist")
    np.testing.assert_array_equal(m.coords[:, j], s.coords[:, get_layout("ntu25").index("left_wrist")])
