"""From a :class:`SkeletonSequence` to model input tensors.

1. :func:`prepare_sequence`: map the joints to the model layout by name, drop low-confidence joints,
   resample to the model frame rate, centre on the neck and scale to unit shoulder width (robust
   medians over the whole sequence, so body sway is kept), fill gaps (filled joints keep
   confidence 0, so the model knows they were not seen).
2. :func:`uniform_indices`: PYSKL ``UniformSampleFrames`` — split a clip into ``clip_len`` segments
   and take one frame from each (random in training, the middle at test time).
3. :func:`build_streams`: the joint / bone / motion / bone-motion streams stacked as channels,
   ``(C_total, T, V)``, each stream with the coordinates (+ the confidence channel).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from mgreason.recognizer.graph import bone_parents
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.mapping import map_sequence
from mgreason.skeleton.preprocess import fill_missing, normalize, resample, sanitize
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["prepare_sequence", "uniform_indices", "build_streams", "stream_channels"]


def prepare_sequence(
    seq: SkeletonSequence,
    layout: str,
    fps: Optional[float] = None,
    min_confidence: float = 0.0,
) -> SkeletonSequence:
    """Map to ``layout``, sanitize, resample to ``fps``, normalise, fill. The result is finite."""
    lay = get_layout(layout)
    s = seq if seq.layout == lay.name else map_sequence(seq, lay.name)
    s = sanitize(s, min_confidence)
    if fps is not None and abs(float(fps) - s.fps) > 1e-6:
        s = resample(s, float(fps))
    s = normalize(s)
    return fill_missing(s)


def uniform_indices(num_frames: int, clip_len: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """``clip_len`` frame indices covering ``[0, num_frames)`` in order (repeats when the clip is short)."""
    if num_frames <= 0:
        return np.zeros(clip_len, dtype=np.int64)
    edges = np.linspace(0, num_frames, clip_len + 1)
    lo, hi = edges[:-1], edges[1:]
    if rng is None:
        pos = (lo + hi) / 2
    else:
        pos = lo + rng.random(clip_len) * (hi - lo)
    return np.clip(np.floor(pos).astype(np.int64), 0, num_frames - 1)


def stream_channels(coord_channels: int, use_confidence: bool) -> int:
    return coord_channels + int(use_confidence)


def build_streams(
    coords: np.ndarray,
    confidence: np.ndarray,
    layout: str,
    streams: Sequence[str] = ("joint",),
    use_confidence: bool = True,
) -> np.ndarray:
    """``coords (T, V, C)`` normalised and finite, ``confidence (T, V)`` -> ``(S*(C+c), T, V)`` float32.

    joint: coordinates; bone: joint minus its parent (towards the neck); motion: next frame minus this
    frame (0 at the last frame); bone_motion: the motion of the bones. The confidence channel of a
    bone is the smaller of its two joints'; of a motion, the smaller of the two frames'.
    """
    x = np.asarray(coords, dtype=np.float32)
    c = np.asarray(confidence, dtype=np.float32)
    parents = bone_parents(layout)
    out = []
    bone = conf_bone = None
    for name in streams:
        if name == "joint":
            val, cf = x, c
        elif name in ("bone", "bone_motion"):
            if bone is None:
                bone = x - x[:, parents]
                conf_bone = np.minimum(c, c[:, parents])
            val, cf = bone, conf_bone
            if name == "bone_motion":
                val, cf = _motion(val, cf)
        elif name == "motion":
            val, cf = _motion(x, c)
        else:
            raise ValueError(f"unknown stream {name!r}")
        out.append(val.transpose(2, 0, 1))
        if use_confidence:
            out.append(cf[None])
    return np.ascontiguousarray(np.concatenate(out, axis=0), dtype=np.float32)


def _motion(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.zeros_like(x)
    mc = np.zeros_like(c)
    if x.shape[0] > 1:
        m[:-1] = x[1:] - x[:-1]
        mc[:-1] = np.minimum(c[1:], c[:-1])
        mc[-1] = mc[-2]
    return m, mc
