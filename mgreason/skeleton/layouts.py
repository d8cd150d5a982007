"""Skeleton joint layouts, described as data.

A :class:`Layout` is an ordered list of joint names, graph edges (pairs of joint
names), a centre joint and the dimensionality of the source. Left/right pairs are
derived from the names: every name containing the token ``left`` has a partner
with ``right`` in its place (and vice versa); other joints lie on the midline.

Joint names are one shared vocabulary across layouts (``left_wrist``,
``right_index_tip``, ``nose``, ...), so :mod:`mgreason.skeleton.mapping` maps
between layouts by name. "Left" and "right" are always the *person's* left and
right (OpenPose, Kinect and MediaPipe all name joints this way). For a person
facing the camera the person's right side appears on the image's left.

Registered layouts (see :data:`LAYOUTS`):

``imigue22``
    The iMiGUE/MiGA upper-body layout: BODY_25 joints 0-7 and 15-18, then the five
    right-hand fingertips and the five left-hand fingertips (thumb to little
    finger, OpenPose hand keypoints 4, 8, 12, 16, 20). The MiGA baseline code
    calls joints 2-4 ``ShoulderLeft, ElbowLeft, HandLeft`` (image-side names), but
    they hold OpenPose BODY_25 joints 2-4, i.e. the person's *right* shoulder,
    elbow and wrist; the ``RightFinger1-5`` block hangs off that wrist.
``miga35``
    The MiGA ``*_light_hand.csv`` layout: BODY_25 then right and left fingertips.
``openpose25``
    OpenPose BODY_25.
``openpose137``
    OpenPose full output: BODY_25, 70 face points (iBUG-68 + 2 pupils), 21 left-hand
    and 21 right-hand points, in that order (the order of the JSON keys).
``ntu25``
    Kinect v2 / NTU RGB+D 25 joints (SMG, 3D).
``coco17``
    COCO keypoints.
``mediapipe33``
    MediaPipe BlazePose landmarks.
``mediapipe75``
    MediaPipe Holistic: the 33 pose landmarks, then 21 left-hand and 21 right-hand
    landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mgreason.errors import DataError

__all__ = [
    "Layout",
    "LAYOUTS",
    "get_layout",
    "layout_names",
    "register_layout",
    "HAND21",
    "FINGERTIPS",
]


@dataclass(frozen=True)
class Layout:
    """One joint layout. Build with joint names and edges given as name pairs."""

    name: str
    joints: tuple[str, ...]
    edge_names: tuple[tuple[str, str], ...]
    center_name: str
    dims: int = 2  # natural coordinate dimensionality of the source (2 = image, 3 = world)
    description: str = ""
    aliases: tuple[str, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, j in enumerate(self.joints):
            if j in index:
                raise ValueError(f"layout {self.name}: duplicate joint name {j!r}")
            index[j] = i
        object.__setattr__(self, "_index", index)
        for a, b in self.edge_names:
            if a not in index or b not in index:
                raise ValueError(f"layout {self.name}: edge ({a}, {b}) names an unknown joint")
            if a == b:
                raise ValueError(f"layout {self.name}: self-loop edge on {a}")
        if self.center_name not in index:
            raise ValueError(f"layout {self.name}: unknown centre joint {self.center_name!r}")
        for j in self.joints:
            m = mirror_name(j)
            if m != j and m not in index:
                raise ValueError(f"layout {self.name}: joint {j!r} has no mirror joint {m!r}")

    # ---- basic properties ---------------------------------------------------
    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def __len__(self) -> int:
        return len(self.joints)

    def __contains__(self, joint: object) -> bool:
        return isinstance(joint, str) and joint in self._index

    def index(self, joint: str) -> int:
        try:
            return self._index[joint]
        except KeyError:
            raise KeyError(f"layout {self.name} has no joint {joint!r}") from None

    def indices(self, joints: list[str] | tuple[str, ...]) -> list[int]:
        return [self.index(j) for j in joints]

    def get(self, joint: str) -> int | None:
        return self._index.get(joint)

    @property
    def center(self) -> int:
        return self._index[self.center_name]

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Undirected edges as index pairs."""
        return tuple((self._index[a], self._index[b]) for a, b in self.edge_names)

    @cached_property
    def lr_pairs(self) -> tuple[tuple[int, int], ...]:
        """(left index, right index) for every lateral joint pair."""
        pairs = []
        for i, j in enumerate(self.joints):
            if _tokens(j).count("left"):
                pairs.append((i, self._index[mirror_name(j)]))
        return tuple(pairs)

    @property
    def left_joints(self) -> list[int]:
        return [a for a, _ in self.lr_pairs]

    @property
    def right_joints(self) -> list[int]:
        return [b for _, b in self.lr_pairs]

    @cached_property
    def flip_index(self) -> np.ndarray:
        """Permutation that swaps left and right joints (for horizontal-flip augmentation)."""
        perm = np.arange(self.num_joints)
        for a, b in self.lr_pairs:
            perm[a], perm[b] = b, a
        return perm

    def adjacency(self, self_loops: bool = False) -> np.ndarray:
        """Symmetric 0/1 adjacency matrix (V x V, float32)."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for i, j in self.edges:
            a[i, j] = a[j, i] = 1.0
        if self_loops:
            a += np.eye(self.num_joints, dtype=np.float32)
        return a

    @cached_property
    def parents(self) -> np.ndarray:
        """Parent of every joint in a BFS tree rooted at the centre (-1 for the root).

        Used for bone vectors and for filling joints that are never observed.
        """
        adj: list[list[int]] = [[] for _ in range(self.num_joints)]
        for i, j in self.edges:
            adj[i].append(j)
            adj[j].append(i)
        parent = np.full(self.num_joints, -2, dtype=np.int64)
        parent[self.center] = -1
        queue = [self.center]
        while queue:
            nxt = []
            for u in queue:
                for v in sorted(adj[u]):
                    if parent[v] == -2:
                        parent[v] = u
                        nxt.append(v)
            queue = nxt
        parent[parent == -2] = -1  # unreachable joints (layouts here are connected)
        return parent

    def is_connected(self) -> bool:
        p = self.parents
        return bool(np.sum(p == -1) == 1)


def _tokens(name: str) -> list[str]:
    return name.split("_")


def mirror_name(name: str) -> str:
    """``left_wrist`` -> ``right_wrist``; midline names are returned unchanged."""
    out = []
    for tok in _tokens(name):
        out.append({"left": "right", "right": "left"}.get(tok, tok))
    return "_".join(out)


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
# the 21 hand keypoints of OpenPose and MediaPipe, in their common order
HAND21 = ("hand_root",) + tuple(
    f"{f}_{p}"
    for f, parts in zip(FINGERS, [("cmc", "mcp", "ip", "tip")] + [("mcp", "pip", "dip", "tip")] * 4)
    for p in parts
)
FINGERTIPS = tuple(f"{f}_tip" for f in FINGERS)


def _hand(side: str) -> list[str]:
    return [f"{side}_{n}" for n in HAND21]


def _hand_edges(side: str) -> list[tuple[str, str]]:
    e = []
    root = f"{side}_hand_root"
    for f, parts in zip(FINGERS, [("cmc", "mcp", "ip", "tip")] + [("mcp", "pip", "dip", "tip")] * 4):
        chain = [root] + [f"{side}_{f}_{p}" for p in parts]
        e += list(zip(chain[:-1], chain[1:]))
    return e


def _chain(names: list[str]) -> list[tuple[str, str]]:
    return list(zip(names[:-1], names[1:]))


BODY25 = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "mid_hip", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip

BODY25_EDGES = [
    ("nose", "neck"),
    ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("neck", "mid_hip"), ("mid_hip", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("mid_hip", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("nose", "right_eye"), ("right_eye", "right_ear"), ("nose", "left_eye"), ("left_eye", "left_ear"),
    ("left_ankle", "left_big_toe"), ("left_big_toe", "left_small_toe"), ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"), ("right_big_toe", "right_small_toe"), ("right_ankle", "right_heel"),
]  # fmt: skip


def _face70() -> tuple[list[str], list[tuple[str, str]]]:
    """OpenPose face: iBUG-68 landmarks + 2 pupils, named by the person's side."""
    names = [""] * 70
    for i in range(8):  # jaw contour; point 8 is the chin, 0..7 the person's right side
        names[i] = f"face_right_jaw_{8 - i}"
        names[16 - i] = f"face_left_jaw_{8 - i}"
    names[8] = "chin"
    for k in range(5):  # brows, outer -> inner
        names[17 + k] = f"face_right_brow_{k}"
        names[26 - k] = f"face_left_brow_{k}"
    for k in range(3):
        names[27 + k] = f"face_nose_bridge_{k}"
    names[30] = "nose_tip"
    names[31], names[32], names[33], names[34], names[35] = (
        "face_right_nose_wing_2", "face_right_nose_wing_1", "face_nose_base",
        "face_left_nose_wing_1", "face_left_nose_wing_2",
    )  # fmt: skip
    eye_r = ["outer", "upper_outer", "upper_inner", "inner", "lower_inner", "lower_outer"]
    eye_l = ["inner", "upper_inner", "upper_outer", "outer", "lower_outer", "lower_inner"]
    for k in range(6):
        names[36 + k] = f"face_right_eye_{eye_r[k]}"
        names[42 + k] = f"face_left_eye_{eye_l[k]}"
    lips = [
        "face_right_mouth_corner", "face_right_upper_lip_2", "face_right_upper_lip_1", "face_upper_lip",
        "face_left_upper_lip_1", "face_left_upper_lip_2", "face_left_mouth_corner",
        "face_left_lower_lip_2", "face_left_lower_lip_1", "face_lower_lip",
        "face_right_lower_lip_1", "face_right_lower_lip_2",
        "face_right_inner_mouth_corner", "face_right_inner_upper_lip", "face_inner_upper_lip",
        "face_left_inner_upper_lip", "face_left_inner_mouth_corner", "face_left_inner_lower_lip",
        "face_inner_lower_lip", "face_right_inner_lower_lip",
    ]  # fmt: skip
    names[48:68] = lips
    names[68], names[69] = "face_right_pupil", "face_left_pupil"
    assert all(names) and len(set(names)) == 70

    def n(i: int) -> str:
        return names[i]

    e: list[tuple[str, str]] = []
    e += _chain([n(i) for i in range(17)])  # jaw
    e += _chain([n(i) for i in range(17, 22)]) + _chain([n(i) for i in range(22, 27)])  # brows
    e += _chain([n(i) for i in range(27, 31)]) + _chain([n(i) for i in range(31, 36)]) + [(n(30), n(33))]
    e += _chain([n(i) for i in range(36, 42)]) + [(n(41), n(36))]
    e += _chain([n(i) for i in range(42, 48)]) + [(n(47), n(42))]
    e += _chain([n(i) for i in range(48, 60)]) + [(n(59), n(48))]
    e += _chain([n(i) for i in range(60, 68)]) + [(n(67), n(60))]
    # tie the parts together
    e += [(n(0), n(17)), (n(16), n(26)), (n(21), n(27)), (n(22), n(27)), (n(39), n(27)), (n(42), n(27))]
    e += [(n(33), n(51)), (n(57), n(8)), (n(48), n(60)), (n(54), n(64)), (n(68), n(37)), (n(69), n(44))]
    return names, e


FACE70, FACE70_EDGES = _face70()

NTU25 = (
    "spine_base", "spine_mid", "upper_neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "neck",  # Kinect v2 "SpineShoulder": between the shoulders, where OpenPose puts "Neck"
    "left_hand_tip", "left_thumb_tip", "right_hand_tip", "right_thumb_tip",
)  # fmt: skip
NTU25_EDGES = [
    ("spine_base", "spine_mid"), ("spine_mid", "neck"), ("neck", "upper_neck"), ("upper_neck", "head"),
    ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("left_wrist", "left_hand"), ("left_hand", "left_hand_tip"), ("left_wrist", "left_thumb_tip"),
    ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("right_wrist", "right_hand"), ("right_hand", "right_hand_tip"), ("right_wrist", "right_thumb_tip"),
    ("spine_base", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_foot"),
    ("spine_base", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("right_ankle", "right_foot"),
]  # fmt: skip

COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
COCO17_EDGES = [
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ("nose", "left_shoulder"), ("nose", "right_shoulder"), ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
]  # fmt: skip

MEDIAPIPE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "left_mouth_corner", "right_mouth_corner",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pose_pinky", "right_pose_pinky", "left_pose_index", "right_pose_index",
    "left_pose_thumb", "right_pose_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
MEDIAPIPE33_EDGES = [
    ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"),
    ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"), ("right_eye", "right_eye_outer"),
    ("right_eye_outer", "right_ear"),
    ("left_mouth_corner", "right_mouth_corner"), ("nose", "left_mouth_corner"), ("nose", "right_mouth_corner"),
    ("left_shoulder", "right_shoulder"), ("nose", "left_shoulder"), ("nose", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("left_wrist", "left_pose_pinky"), ("left_wrist", "left_pose_index"), ("left_pose_pinky", "left_pose_index"),
    ("left_wrist", "left_pose_thumb"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("right_wrist", "right_pose_pinky"), ("right_wrist", "right_pose_index"),
    ("right_pose_pinky", "right_pose_index"), ("right_wrist", "right_pose_thumb"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
]  # fmt: skip

IMIGUE22 = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_eye", "left_eye", "right_ear", "left_ear",
) + tuple(f"right_{t}" for t in FINGERTIPS) + tuple(f"left_{t}" for t in FINGERTIPS)  # fmt: skip
IMIGUE22_EDGES = [
    ("nose", "neck"),
    ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("nose", "right_eye"), ("right_eye", "right_ear"), ("nose", "left_eye"), ("left_eye", "left_ear"),
] + [(f"{s}_wrist", f"{s}_{t}") for s in ("right", "left") for t in FINGERTIPS]  # fmt: skip

MIGA35 = BODY25 + tuple(f"right_{t}" for t in FINGERTIPS) + tuple(f"left_{t}" for t in FINGERTIPS)
MIGA35_EDGES = BODY25_EDGES + [(f"{s}_wrist", f"{s}_{t}") for s in ("right", "left") for t in FINGERTIPS]


def _build() -> dict[str, Layout]:
    layouts = [
        Layout(
            "imigue22", IMIGUE22, tuple(IMIGUE22_EDGES), "neck", 2,
            "iMiGUE/MiGA upper body: BODY_25 0-7 and 15-18 + 5 fingertips per hand (right hand first)",
            aliases=("openpose22", "miga22"),
        ),
        Layout("miga35", MIGA35, tuple(MIGA35_EDGES), "neck", 2, "MiGA light_hand CSV: BODY_25 + 10 fingertips"),
        Layout("openpose25", BODY25, tuple(BODY25_EDGES), "neck", 2, "OpenPose BODY_25", aliases=("body25",)),
        Layout(
            "openpose137",
            BODY25 + tuple(FACE70) + tuple(_hand("left")) + tuple(_hand("right")),
            tuple(
                BODY25_EDGES + FACE70_EDGES + _hand_edges("left") + _hand_edges("right")
                + [("nose", "nose_tip"), ("left_wrist", "left_hand_root"), ("right_wrist", "right_hand_root")]
            ),
            "neck", 2, "OpenPose BODY_25 + 70 face + 21 left-hand + 21 right-hand keypoints",
            aliases=("openpose",),
        ),  # fmt: skip
        Layout("ntu25", NTU25, tuple(NTU25_EDGES), "spine_mid", 3, "Kinect v2 / NTU RGB+D 25 joints (SMG)",
               aliases=("kinect25", "kinect_v2", "smg25")),
        Layout("coco17", COCO17, tuple(COCO17_EDGES), "nose", 2, "COCO-17 keypoints", aliases=("coco",)),
        Layout("mediapipe33", MEDIAPIPE33, tuple(MEDIAPIPE33_EDGES), "nose", 3, "MediaPipe BlazePose 33 landmarks",
               aliases=("blazepose",)),
        Layout(
            "mediapipe75",
            MEDIAPIPE33 + tuple(_hand("left")) + tuple(_hand("right")),
            tuple(
                MEDIAPIPE33_EDGES + _hand_edges("left") + _hand_edges("right")
                + [("left_wrist", "left_hand_root"), ("right_wrist", "right_hand_root")]
            ),
            "nose", 3, "MediaPipe Holistic: 33 pose + 21 left-hand + 21 right-hand landmarks",
            aliases=("mediapipe_holistic",),
        ),  # fmt: skip
    ]
    return {lay.name: lay for lay in layouts}


LAYOUTS: dict[str, Layout] = _build()
_ALIASES: dict[str, str] = {a: lay.name for lay in LAYOUTS.values() for a in lay.aliases}


def layout_names() -> list[str]:
    return list(LAYOUTS)


def register_layout(layout: Layout) -> None:
    """Add a custom layout to the registry (replaces one of the same name)."""
    LAYOUTS[layout.name] = layout
    for a in layout.aliases:
        _ALIASES[a] = layout.name


def get_layout(layout: str | Layout) -> Layout:
    """Look a layout up by name or alias (case-insensitive); a Layout passes through."""
    if isinstance(layout, Layout):
        return layout
    key = str(layout).lower().replace("-", "").replace(" ", "")
    key = _ALIASES.get(key, key)
    try:
        return LAYOUTS[key]
    except KeyError:
        raise DataError(f"unknown skeleton layout {layout!r}; known: {', '.join(LAYOUTS)}", field="layout") from None
