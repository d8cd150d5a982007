import numpy as np
import pytest

from mgreason.errors import DataError
from mgreason.skeleton.layouts import LAYOUTS, get_layout, mirror_name

REQUIRED = ["imigue22", "openpose25", "openpose137", "ntu25", "coco17", "mediapipe33", "mediapipe75"]
SIZES = {"imigue22": 22, "openpose25": 25, "openpose137": 137, "ntu25": 25, "coco17": 17, "mediapipe33": 33,
         "mediapipe75": 75, "miga35": 35}


def test_registry_has_required_layouts():
    for name in REQUIRED:
        assert name in LAYOUTS
    for name, n in SIZES.items():
        assert get_layout(name).num_joints == n, name


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_well_formed(name):
    lay = get_layout(name)
    V = lay.num_joints
    assert len(set(lay.joints)) == V
    edges = np.array(lay.edges)
    assert edges.min() >= 0 and edges.max() < V
    assert all(a != b for a, b in lay.edges)
    assert len({tuple(sorted(e)) for e in lay.edges}) == len(lay.edges), "duplicate edge"
    assert 0 <= lay.center < V
    assert lay.is_connected(), "graph must be connected"
    # a tree over V joints has at least V-1 edges
    assert len(lay.edges) >= V - 1
    A = lay.adjacency()
    assert np.array_equal(A, A.T) and A.trace() == 0


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_left_right_pairs_symmetric(name):
    lay = get_layout(name)
    perm = lay.flip_index
    assert np.array_equal(perm[perm], np.arange(lay.num_joints)), "flip must be an involution"
    for left, right in lay.lr_pairs:
        assert "left" in lay.joints[left].split("_")
        assert lay.joints[right] == mirror_name(lay.joints[left])
    # every lateral joint is paired, midline joints map to themselves
    for i, j in enumerate(lay.joints):
        tokens = j.split("_")
        if "left" in tokens or "right" in tokens:
            assert perm[i] != i, j
        else:
            assert perm[i] == i, j
    # flipping maps the edge set onto itself (the graph is mirror-symmetric)
    edges = {frozenset(e) for e in lay.edges}
    assert {frozenset((perm[a], perm[b])) for a, b in lay.edges} == edges


def test_imigue22_order_follows_openpose_body25():
    lay = get_layout("imigue22")
    body25 = get_layout("openpose25")
    # the first 8 joints are BODY_25 0..7, then BODY_25 15..18 (eyes, ears)
    assert lay.joints[:8] == body25.joints[:8]
    assert lay.joints[8:12] == body25.joints[15:19]
    assert lay.joints[2] == "right_shoulder" and lay.joints[4] == "right_wrist"
    assert lay.joints[12:17] == ("right_thumb_tip", "right_index_tip", "right_middle_tip", "right_ring_tip",
                                 "right_pinky_tip")
    assert lay.joints[17] == "left_thumb_tip" and lay.joints[21] == "left_pinky_tip"
    assert lay.joints[lay.center] == "neck"
    # fingertips hang off the wrist of their own hand
    for tip in range(12, 22):
        wrist = 4 if tip < 17 else 7
        assert lay.parents[tip] == wrist


def test_openpose137_blocks():
    lay = get_layout("openpose137")
    assert lay.joints[25 + 8] == "chin"
    assert lay.joints[25 + 36] == "face_right_eye_outer"  # iBUG point 36: the person's right eye
    assert lay.joints[95] == "left_hand_root" and lay.joints[99] == "left_thumb_tip"
    assert lay.joints[116] == "right_hand_root" and lay.joints[136] == "right_pinky_tip"


def test_aliases_and_unknown():
    assert get_layout("OpenPose-22").name == "imigue22"
    assert get_layout("kinect25").name == "ntu25"
    with pytest.raises(DataError):
        get_layout("nope")
