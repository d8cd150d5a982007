"""Map skeletons between layouts by joint name.

A target joint is taken from the source joint of the same name. When the source has
no such joint, an optional *derived* rule may stand in (for example ``neck`` as the
midpoint of the shoulders for COCO or MediaPipe, or a fingertip from MediaPipe's
pose-level finger points); derived joints get the smallest confidence of their
sources times the rule's factor. Joints with neither are *missing*: confidence 0 and
NaN coordinates, so a model trained on one source can run on another and knows what
it does not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mgreason.skeleton.layouts import Layout, get_layout
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["JointMapping", "build_mapping", "map_sequence", "map_arrays", "DERIVED"]

# target joint -> alternatives, each (source joints averaged, confidence factor); first available wins
DERIVED: dict[str, tuple[tuple[tuple[str, ...], float], ...]] = {
    "neck": ((("left_shoulder", "right_shoulder"), 1.0),),
    "mid_hip": ((("left_hip", "right_hip"), 1.0), (("spine_base",), 1.0)),
    "spine_base": ((("mid_hip",), 1.0), (("left_hip", "right_hip"), 1.0)),
    "nose": ((("nose_tip",), 1.0), (("head",), 0.5)),
    "head": ((("left_ear", "right_ear"), 0.8), (("left_eye", "right_eye"), 0.6)),
    "chin": ((("face_lower_lip",), 0.5),),
}
for _s in ("left", "right"):
    DERIVED.update(
        {
            f"{_s}_wrist": (((f"{_s}_hand_root",), 1.0),),
            f"{_s}_hand_root": (((f"{_s}_wrist",), 1.0),),
            f"{_s}_eye": (((f"face_{_s}_pupil",), 1.0),),
            f"{_s}_thumb_tip": (((f"{_s}_pose_thumb",), 0.7),),
            f"{_s}_index_tip": (((f"{_s}_pose_index",), 0.7), ((f"{_s}_hand_tip",), 0.5)),
            f"{_s}_middle_tip": (((f"{_s}_pose_index", f"{_s}_pose_pinky"), 0.5), ((f"{_s}_hand_tip",), 0.7)),
            f"{_s}_ring_tip": (((f"{_s}_pose_index", f"{_s}_pose_pinky"), 0.4), ((f"{_s}_hand_tip",), 0.5)),
            f"{_s}_pinky_tip": (((f"{_s}_pose_pinky",), 0.7), ((f"{_s}_hand_tip",), 0.4)),
            f"{_s}_hand": (((f"{_s}_middle_mcp",), 1.0), ((f"{_s}_wrist", f"{_s}_middle_tip"), 0.7)),
            f"{_s}_hand_tip": (((f"{_s}_middle_tip",), 1.0),),
            f"{_s}_pose_thumb": (((f"{_s}_thumb_tip",), 1.0),),
            f"{_s}_pose_index": (((f"{_s}_index_mcp",), 1.0),),
            f"{_s}_pose_pinky": (((f"{_s}_pinky_mcp",), 1.0),),
            f"{_s}_mouth_corner": (((f"face_{_s}_mouth_corner",), 1.0),),
            f"face_{_s}_mouth_corner": (((f"{_s}_mouth_corner",), 1.0),),
        }
    )


@dataclass(frozen=True)
class JointMapping:
    """How to build every target joint from a source layout."""

    source: str
    target: str
    index: tuple[int, ...]  # per target joint: source index, or -1
    derived: tuple[tuple[int, tuple[int, ...], float], ...]  # (target index, source indices, factor)

    @property
    def missing(self) -> list[str]:
        """Target joints that can be neither copied nor derived."""
        tgt = get_layout(self.target)
        got = {t for t, _, _ in self.derived}
        return [tgt.joints[i] for i, s in enumerate(self.index) if s < 0 and i not in got]

    @property
    def derived_names(self) -> list[str]:
        tgt = get_layout(self.target)
        return [tgt.joints[t] for t, _, _ in self.derived]

    def apply(self, coords: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map ``coords (..., V_src, C)`` and ``confidence (..., V_src)`` to the target layout."""
        coords = np.asarray(coords, dtype=np.float32)
        confidence = np.asarray(confidence, dtype=np.float32)
        idx = np.asarray(self.index)
        have = idx >= 0
        out_shape = coords.shape[:-2] + (len(idx), coords.shape[-1])
        out = np.full(out_shape, np.nan, dtype=np.float32)
        conf = np.zeros(out_shape[:-1], dtype=np.float32)
        out[..., have, :] = coords[..., idx[have], :]
        conf[..., have] = confidence[..., idx[have]]
        for t, srcs, factor in self.derived:
            s = list(srcs)
            out[..., t, :] = coords[..., s, :].mean(axis=-2)
            conf[..., t] = confidence[..., s].min(axis=-1) * factor
        bad = ~np.all(np.isfinite(out), axis=-1) | (conf <= 0)
        out[bad] = np.nan
        conf[bad] = 0.0
        return out, conf


@lru_cache(maxsize=128)
def _build(source: str, target: str, derive: bool) -> JointMapping:
    src, tgt = get_layout(source), get_layout(target)
    index = tuple(src.get(j) if j in src else -1 for j in tgt.joints)
    derived = []
    if derive:
        for t, j in enumerate(tgt.joints):
            if index[t] >= 0:
                continue
            for names, factor in DERIVED.get(j, ()):
                if all(n in src for n in names):
                    derived.append((t, tuple(src.index(n) for n in names), float(factor)))
                    break
    return JointMapping(src.name, tgt.name, index, tuple(derived))


def build_mapping(source: str | Layout, target: str | Layout, derive: bool = True) -> JointMapping:
    return _build(get_layout(source).name, get_layout(target).name, bool(derive))


def map_arrays(
    coords: np.ndarray, confidence: np.ndarray, source: str | Layout, target: str | Layout, derive: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    return build_mapping(source, target, derive).apply(coords, confidence)


def map_sequence(seq: SkeletonSequence, target: str | Layout, derive: bool = True) -> SkeletonSequence:
    """The sequence in another layout; ``meta['missing_joints']`` lists joints that could not be filled."""
    m = build_mapping(seq.layout, target, derive)
    if m.source == m.target:
        return seq.copy()
    coords, conf = m.apply(seq.coords, seq.confidence)
    meta = dict(seq.meta)
    meta["mapped_from"] = seq.layout
    meta["missing_joints"] = m.missing
    if m.derived:
        meta["derived_joints"] = m.derived_names
    return SkeletonSequence(coords, conf, seq.fps, m.target, meta)
