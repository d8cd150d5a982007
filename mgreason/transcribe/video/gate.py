"""Which processed frames run MediaPipe's hand models (``--video-hands auto``): only where a hand can matter.

Micro-gestures are hand-to-body movements (touching the face or neck, scratching, rubbing hands, arms
folded), so a hand matters when it is seen near the face, neck or torso, or while it moves. The decision
for a frame is made from the pose of the previous processed frame (the gated Holistic graph takes it as
an input of the same call): :func:`hand_matters` on constructed landmarks is tested.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["HAND_VISIBILITY", "HAND_RECHECK", "NEAR_BODY", "MOVING", "POSE_HAND_POINTS", "hand_matters", "HandGate"]

HAND_VISIBILITY = 0.5  # a pose hand point (wrist, pinky, index, thumb) this visible: the side's hand is in view
HAND_RECHECK = 15  # the hand models run on every 15th processed frame whatever the gate says
NEAR_BODY = 0.5  # a wrist within this many shoulder widths of the face/neck/torso box is near the body ...
MOVING = 1.0  # ... and one moving at least this many shoulder widths per second is moving
POSE_HAND_POINTS = list(range(15, 23))  # mediapipe33 wrists, pinkies, index fingers, thumbs
_SIDES = {"left": (15, 17, 19, 21), "right": (16, 18, 20, 22)}  # wrist first
_BODY = (0, 2, 5, 7, 8, 9, 10, 11, 12, 23, 24)  # nose, eyes, ears, mouth, shoulders, hips
_SHOULDERS = (11, 12)


def hand_matters(
    pxy: np.ndarray, pc: np.ndarray, prev_xy: Optional[np.ndarray] = None, prev_c: Optional[np.ndarray] = None,
    dt: Optional[float] = None, found: tuple[bool, bool] = (False, False),
) -> bool:
    """Does a hand matter on the next frame, judged from this frame's pose (mediapipe33 pixels ``pxy`` (33, 2),
    visibilities ``pc`` (33,)) and optionally the previous processed frame's (``prev_xy``, ``prev_c``, ``dt``
    seconds earlier) and whether the hand models found the (left, right) hand on this frame (``found``)?

    True when nobody is seen (the graph should look), when the shoulders are not both seen (no scale to
    judge by), or when a side has a hand point with visibility >= :data:`HAND_VISIBILITY` whose wrist lies
    (or a found hand) within :data:`NEAR_BODY` shoulder widths of the box around the face, neck and torso points or moves at
    least :data:`MOVING` shoulder widths per second. False otherwise: no hand in view, or hands in view
    far from the body and still (an arm held out)."""
    if not (pc > 0).any():
        return True
    sh = [i for i in _SHOULDERS if pc[i] >= HAND_VISIBILITY and np.isfinite(pxy[i]).all()]
    if len(sh) < 2:
        return True
    width = float(np.linalg.norm(pxy[11] - pxy[12]))
    if not width > 0:
        return True
    body = np.array([pxy[i] for i in _BODY if pc[i] >= HAND_VISIBILITY and np.isfinite(pxy[i]).all()])
    lo, hi = body.min(axis=0) - NEAR_BODY * width, body.max(axis=0) + NEAR_BODY * width
    for (wrist, *fingers), seen in zip(_SIDES.values(), found):
        if not np.isfinite(pxy[wrist]).all() or pc[wrist] <= 0:
            if seen:  # a hand the pose does not place: keep looking
                return True
            continue
        if not seen and max(pc[wrist], *(pc[f] for f in fingers)) < HAND_VISIBILITY:
            continue
        w = pxy[wrist]
        if (w >= lo).all() and (w <= hi).all():
            return True
        if prev_xy is not None and prev_c is not None and dt and prev_c[wrist] > 0 and np.isfinite(prev_xy[wrist]).all():
            if float(np.linalg.norm(w - prev_xy[wrist])) / dt >= MOVING * width:
                return True
    return False


class HandGate:
    """The gate's state along one run of processed frames: :meth:`allow` before a frame, :meth:`update` after.

    ``mode="always"``: every frame. ``"auto"``: :func:`hand_matters` of the previous processed frame, and
    every :data:`HAND_RECHECK`-th processed frame (a hand the pose misses)."""

    def __init__(self, mode: str = "auto", recheck: int = HAND_RECHECK):
        self.mode, self.recheck = mode, recheck
        self.n = 0  # processed frames seen
        self.next = True
        self.prev: Optional[tuple[np.ndarray, np.ndarray, float]] = None

    def allow(self) -> bool:
        return self.mode == "always" or self.next or self.n % self.recheck == 0

    def update(self, pxy: np.ndarray, pc: np.ndarray, t_s: float, found: tuple[bool, bool] = (False, False)) -> None:
        prev_xy, prev_c, dt = (None, None, None)
        if self.prev is not None:
            prev_xy, prev_c, t0 = self.prev
            dt = t_s - t0 if t_s > t0 else None
        self.next = hand_matters(pxy, pc, prev_xy, prev_c, dt, found)
        self.prev = (pxy, pc, t_s)
        self.n += 1
