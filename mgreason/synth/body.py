"""Seated upper body: proportions, per-subject style, pose controls and the kinematic rig.

Coordinates are metres in a body frame: X = the person's left (image right for a
person facing the camera), Y = down, Z = away from the camera (the person faces -Z).
The origin is the rest position of the neck joint (the OpenPose "neck", between the
shoulders). Side index 0 is the person's right (sign -1 on X), 1 the left (+1), the
order of the ``imigue22`` layout.

A pose is given by *controls* (arrays over clips x frames): torso translation and
rotation about the hips, shoulder shrug/protraction, head rotation and offset, and
per hand a target point, hand direction, palm normal, finger curl/spread, elbow
pole and visibility. :func:`rig` turns controls into the 22 ``imigue22`` joints
with two-bone inverse kinematics for the arms and a simple hand model for the
fingertips. Everything is vectorised over (N, T).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

import numpy as np

__all__ = [
    "SIDE",
    "Body",
    "Style",
    "Controls",
    "sample_bodies",
    "sample_styles",
    "rig",
    "rot_matrix",
    "head_points",
    "HEAD_LANDMARKS",
    "unit",
]

SIDE = np.array([-1.0, 1.0])  # right, left along X

# head landmarks in head units (head radius), relative to the head centre
HEAD_LANDMARKS = {
    "nose": (0.0, 0.12, -1.05),
    "right_eye": (-0.34, -0.16, -0.86),
    "left_eye": (0.34, -0.16, -0.86),
    "right_ear": (-0.98, -0.02, 0.08),
    "left_ear": (0.98, -0.02, 0.08),
}
HEAD_CENTER_FROM_PIVOT = np.array([0.0, -0.85, -0.12])  # head units


def unit(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, eps)


def rot_matrix(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(..., 3, 3) = Ry(yaw) @ Rx(pitch) @ Rz(roll).

    In the body frame: pitch > 0 tips the front downwards (look down / lean forward),
    yaw > 0 turns the front towards the person's right (-X), roll > 0 tilts the top
    towards the person's left (+X).
    """
    pitch, yaw, roll = np.broadcast_arrays(np.asarray(pitch, float), np.asarray(yaw, float), np.asarray(roll, float))
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    cr, sr = np.cos(roll), np.sin(roll)
    R = np.empty(pitch.shape + (3, 3))
    R[..., 0, 0] = cy * cr + sy * sp * sr
    R[..., 0, 1] = -cy * sr + sy * sp * cr
    R[..., 0, 2] = sy * cp
    R[..., 1, 0] = cp * sr
    R[..., 1, 1] = cp * cr
    R[..., 1, 2] = -sp
    R[..., 2, 0] = -sy * cr + cy * sp * sr
    R[..., 2, 1] = sy * sr + cy * sp * cr
    R[..., 2, 2] = cy * cp
    return R


def _apply(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R @ v for R (..., 3, 3) and v (..., 3) with the same leading dimensions."""
    return (v[..., None, :] @ np.swapaxes(R, -1, -2))[..., 0, :]


def _apply_many(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R (N, T, 3, 3) applied to points v (N, T, K, 3) (written out: faster than batched 3x3 matmul)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    r = R[:, :, None]  # (N, T, 1, 3, 3)
    out = np.empty(np.broadcast_shapes(v.shape, r.shape[:-1]))
    for i in range(3):
        out[..., i] = r[..., i, 0] * x + r[..., i, 1] * y + r[..., i, 2] * z
    return out


# ---------------------------------------------------------------------------
# per-subject body and style
# ---------------------------------------------------------------------------


@dataclass
class _Arrays:
    """A dataclass whose fields are all arrays with the same leading dimension."""

    def take(self, idx: np.ndarray):  # type: ignore[no-untyped-def]
        return type(self)(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))


@dataclass
class Body(_Arrays):
    """Body proportions in metres, one entry per clip/subject."""

    shoulder_w: np.ndarray
    upper_arm: np.ndarray
    forearm: np.ndarray
    hand: np.ndarray  # wrist to middle fingertip
    neck: np.ndarray  # neck joint to head pivot
    head_r: np.ndarray
    hip_drop: np.ndarray  # neck joint to the hip pivot
    table_y: np.ndarray  # table top below the neck joint
    table_z: np.ndarray  # where the hands rest (negative = in front)


def sample_bodies(rng: np.random.Generator, n: int) -> Body:
    size = rng.normal(1.0, 0.06, n).clip(0.85, 1.15)  # overall body size
    def f(lo: float, hi: float) -> np.ndarray:  # noqa: E306
        return size * rng.uniform(lo, hi, n)
    return Body(
        shoulder_w=f(0.29, 0.38),  # OpenPose shoulder keypoints (joint centres)
        upper_arm=f(0.27, 0.33),
        forearm=f(0.235, 0.285),
        hand=f(0.17, 0.2),
        neck=f(0.04, 0.1),
        head_r=size * rng.uniform(0.085, 0.1, n),
        hip_drop=f(0.46, 0.56),
        table_y=rng.uniform(0.17, 0.3, n),
        table_z=-rng.uniform(0.15, 0.32, n),
    )


@dataclass
class Style(_Arrays):
    """How a subject moves."""

    p_right: np.ndarray  # probability of using the right hand for one-handed gestures
    tempo: np.ndarray  # > 1 = faster
    amplitude: np.ndarray  # gesture amplitude factor
    scratch_hz: np.ndarray  # preferred scratching frequency
    fidget: np.ndarray  # idle motion amplitude factor
    talk: np.ndarray  # head motion while talking
    slouch: np.ndarray  # rest torso pitch (rad)
    rest_mode_p: np.ndarray  # (n, 4) probabilities of rest modes: apart, together, lap, mixed
    hand_spacing: np.ndarray  # half distance between resting hands
    contact_bias: np.ndarray  # (n, 3) personal offset of contact points (head units)
    head_fwd: np.ndarray  # (n, 3) forward-head posture offset of the head pivot (m)
    elbow_out: np.ndarray  # how far the elbows splay out at rest


def sample_styles(rng: np.random.Generator, n: int) -> Style:
    lefty = rng.random(n) < 0.12
    p_right = np.where(lefty, rng.uniform(0.1, 0.35, n), rng.uniform(0.55, 0.92, n))
    rest = rng.dirichlet([2.0, 1.2, 0.8, 0.6], n)
    return Style(
        p_right=p_right,
        tempo=np.exp(rng.normal(0, 0.15, n)),
        amplitude=np.exp(rng.normal(0, 0.25, n)),
        scratch_hz=rng.uniform(2.5, 5.5, n),
        fidget=np.exp(rng.normal(0, 0.35, n)),
        talk=np.exp(rng.normal(0, 0.35, n)),
        slouch=rng.uniform(0.0, 0.2, n),
        rest_mode_p=rest,
        hand_spacing=rng.uniform(0.06, 0.22, n),
        contact_bias=rng.normal(0, 0.12, (n, 3)),
        head_fwd=np.stack([np.zeros(n), rng.uniform(0.0, 0.02, n), -rng.uniform(0.0, 0.05, n)], -1),
        elbow_out=rng.uniform(0.2, 1.4, n),
    )


# ---------------------------------------------------------------------------
# controls
# ---------------------------------------------------------------------------

_CONTROL_SHAPES = {
    "torso_pos": (3,),  # world translation (m)
    "torso_rot": (3,),  # pitch, yaw, roll about the hip pivot (rad)
    "shrug": (2,),  # shoulder elevation, right/left (m, up > 0)
    "shoulder_fwd": (2,),  # protraction (m, forward > 0)
    "head_rot": (3,),  # pitch (down > 0), yaw, roll relative to the torso (rad)
    "head_off": (3,),  # head pivot translation (m)
    "hand_p": (2, 3),  # hand target point in the torso frame
    "hand_d": (2, 3),  # direction wrist -> middle fingertip
    "hand_n": (2, 3),  # palm normal (the side the palm faces)
    "hand_k": (2,),  # target point = wrist + k * hand_length * d
    "curl": (2,),  # finger flexion 0..1
    "spread": (2,),  # finger spread factor
    "thumb": (2,),  # thumb flexion 0..1
    "pole": (2, 3),  # direction the elbow points to
    "hand_vis": (2,),  # 1 = visible, 0 = hidden (under the table, behind the back)
    "finger_occl": (2,),  # extra fingertip occlusion 0..1
}


class Controls(dict):
    """Named control arrays of shape (N, T, ...)."""

    @classmethod
    def zeros(cls, n: int, T: int) -> "Controls":
        c = cls({k: np.zeros((n, T) + s) for k, s in _CONTROL_SHAPES.items()})
        c["spread"][:] = 1.0
        c["hand_vis"][:] = 1.0
        return c

    @property
    def shape(self) -> tuple[int, int]:
        return self["torso_pos"].shape[:2]

    def take(self, rows: np.ndarray, t0: int = 0, t1: Optional[int] = None) -> "Controls":
        return Controls({k: v[rows, t0:t1].copy() for k, v in self.items()})

    def put(self, rows: np.ndarray, sub: "Controls", t0: int = 0) -> None:
        L = sub.shape[1]
        for k, v in sub.items():
            self[k][rows, t0 : t0 + L] = v


# ---------------------------------------------------------------------------
# kinematics
# ---------------------------------------------------------------------------


def torso_transform(body: Body, ctl: Controls) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (N, T, 3, 3) and hip pivot (N, 1, 3) of the torso; world = pivot + R (p - pivot) + pos."""
    tr = ctl["torso_rot"]
    R = rot_matrix(tr[..., 0], tr[..., 1], tr[..., 2])
    pivot = np.stack([np.zeros_like(body.hip_drop), body.hip_drop, np.full_like(body.hip_drop, 0.05)], -1)[:, None]
    return R, pivot


def to_world(p: np.ndarray, R: np.ndarray, pivot: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Torso-frame points (N, T, 3) or (N, T, K, 3) to world."""
    if p.ndim == 3:
        return pivot + _apply(R, p - pivot) + pos
    return pivot[:, :, None] + _apply_many(R, p - pivot[:, :, None]) + pos[:, :, None]


def to_torso(p: np.ndarray, R: np.ndarray, pivot: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """World points (N, T, 3) or (N, T, K, 3) to the torso frame."""
    Rt = np.swapaxes(R, -1, -2)
    if p.ndim == 3:
        return pivot + _apply(Rt, p - pos - pivot)
    return pivot[:, :, None] + _apply_many(Rt, p - pos[:, :, None] - pivot[:, :, None])


def neck_and_shoulders(body: Body, ctl: Controls) -> tuple[np.ndarray, np.ndarray]:
    """Torso-frame neck (N, T, 3) and shoulders (N, T, 2, 3)."""
    sh = ctl["shrug"]
    fw = ctl["shoulder_fwd"]
    half = body.shoulder_w[:, None, None] / 2
    sx = SIDE[None, None, :] * half
    sy = 0.025 - sh
    sz = 0.02 - fw
    shoulders = np.stack([np.broadcast_to(sx, sy.shape), sy, sz], -1)
    neck = shoulders.mean(axis=2) + np.array([0.0, -0.02, -0.01])
    return neck, shoulders


def head_frame(body: Body, ctl: Controls) -> tuple[np.ndarray, np.ndarray]:
    """Head rotation (N, T, 3, 3) and head centre (N, T, 3) in the torso frame."""
    hr = ctl["head_rot"]
    R = rot_matrix(hr[..., 0], hr[..., 1], hr[..., 2])
    pivot = np.stack(
        [np.zeros_like(body.neck), -body.neck, np.full_like(body.neck, 0.01)], -1
    )[:, None] + ctl["head_off"] - 0.3 * ctl["shrug"].mean(-1, keepdims=True) * np.array([0, 1.0, 0])
    center = pivot + _apply(R, HEAD_CENTER_FROM_PIVOT * body.head_r[:, None, None])
    return R, center


def head_points(body: Body, ctl: Controls, local: np.ndarray) -> np.ndarray:
    """Torso-frame positions of head-local points (head units). ``local`` is (N, [T,] 3) or (3,)."""
    R, center = head_frame(body, ctl)
    local = np.asarray(local, dtype=float)
    if local.ndim == 1:
        local = local[None, None]
    elif local.ndim == 2:
        local = local[:, None]
    return center + _apply(R, local * body.head_r[:, None, None])


def two_bone_ik(
    shoulder: np.ndarray, wrist: np.ndarray, a: np.ndarray, b: np.ndarray, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Elbow and (reach-clamped) wrist for arm segment lengths a, b (broadcast over points)."""
    D = wrist - shoulder
    d = np.linalg.norm(D, axis=-1, keepdims=True)
    u = D / np.maximum(d, 1e-9)
    lo = np.abs(a - b)[..., None] + 0.02
    hi = (a + b)[..., None] * 0.995
    dc = np.clip(d, lo, hi)
    wrist = shoulder + u * dc
    cos_al = (a[..., None] ** 2 + dc**2 - b[..., None] ** 2) / (2 * a[..., None] * dc)
    cos_al = np.clip(cos_al, -1.0, 1.0)
    sin_al = np.sqrt(1 - cos_al**2)
    pp = pole - np.sum(pole * u, -1, keepdims=True) * u
    # degenerate pole (parallel to the arm): use "down and back"
    fallback = np.array([0.0, 0.7, 0.7]) - np.sum(np.array([0.0, 0.7, 0.7]) * u, -1, keepdims=True) * u
    small = np.linalg.norm(pp, axis=-1, keepdims=True) < 1e-4
    pp = unit(np.where(small, fallback, pp))
    elbow = shoulder + a[..., None] * (cos_al * u + sin_al * pp)
    return elbow, wrist


# fingertip model: thumb, index, middle, ring, little finger
_FINGER_ANGLE = np.array([0.75, 0.15, 0.0, -0.13, -0.28])
_FINGER_LEN = np.array([0.58, 0.94, 1.0, 0.94, 0.78])
_FINGER_BASE = np.array([0.12, 0.0, 0.0, 0.0, 0.0])  # thumb root sits nearer the wrist


def hand_tips(
    wrist: np.ndarray, d: np.ndarray, n: np.ndarray, hand_len: np.ndarray, curl: np.ndarray,
    spread: np.ndarray, thumb: np.ndarray, side: int,
) -> np.ndarray:
    """Five fingertips (N, T, 5, 3) of one hand."""
    d = unit(d)
    n = unit(n - np.sum(n * d, -1, keepdims=True) * d)
    s = unit(np.cross(d, n)) * (1.0 if side == 0 else -1.0)  # towards the thumb
    ang = _FINGER_ANGLE[None, None, :] * spread[..., None]
    flex = np.concatenate([thumb[..., None] * 0.9, np.repeat(curl[..., None], 4, -1) * 1.35], -1)
    shorten = 1.0 - 0.42 * np.concatenate([thumb[..., None] * 0.5, np.repeat(curl[..., None], 4, -1)], -1)
    base = np.cos(ang)[..., None] * d[..., None, :] + np.sin(ang)[..., None] * s[..., None, :]
    direction = np.cos(flex)[..., None] * base + np.sin(flex)[..., None] * n[..., None, :]
    L = hand_len[:, None, None] * _FINGER_LEN[None, None, :] * shorten
    root = wrist[..., None, :] - _FINGER_BASE[None, None, :, None] * hand_len[:, None, None, None] * d[..., None, :]
    return root + L[..., None] * direction


def arm_joints(
    body: Body, ctl: Controls, side: int, shoulders: Optional[np.ndarray] = None, tips: bool = True
) -> dict[str, np.ndarray]:
    """Torso-frame shoulder, elbow, wrist (N, T, 3) and (with ``tips``) fingertips (N, T, 5, 3) of one arm."""
    if shoulders is None:
        _, shoulders = neck_and_shoulders(body, ctl)
    S = shoulders[:, :, side]
    d = unit(ctl["hand_d"][:, :, side])
    k = ctl["hand_k"][:, :, side]
    W = ctl["hand_p"][:, :, side] - (k * body.hand[:, None])[..., None] * d
    a = np.broadcast_to(body.upper_arm[:, None], k.shape)
    b = np.broadcast_to(body.forearm[:, None], k.shape)
    E, W = two_bone_ik(S, W, a, b, ctl["pole"][:, :, side])
    if not tips:
        return {"shoulder": S, "elbow": E, "wrist": W}
    fingertips = hand_tips(
        W, d, ctl["hand_n"][:, :, side], body.hand, ctl["curl"][:, :, side], ctl["spread"][:, :, side],
        ctl["thumb"][:, :, side], side,
    )
    return {"shoulder": S, "elbow": E, "wrist": W, "tips": fingertips}


def rig(body: Body, ctl: Controls) -> np.ndarray:
    """World coordinates (N, T, 22, 3) of the ``imigue22`` joints."""
    neck, shoulders = neck_and_shoulders(body, ctl)
    R_head, center = head_frame(body, ctl)
    local = np.asarray(list(HEAD_LANDMARKS.values()))[None, None] * body.head_r[:, None, None, None]  # (N, 1, 5, 3)
    pts = center[:, :, None] + _apply_many(R_head, np.broadcast_to(local, center.shape[:2] + local.shape[2:]))
    lm = {k: pts[:, :, i] for i, k in enumerate(HEAD_LANDMARKS)}
    arms = [arm_joints(body, ctl, s, shoulders) for s in (0, 1)]
    N, T = neck.shape[:2]
    J = np.empty((N, T, 22, 3))
    J[:, :, 0] = lm["nose"]
    J[:, :, 1] = neck
    for s, off in ((0, 2), (1, 5)):
        J[:, :, off] = arms[s]["shoulder"]
        J[:, :, off + 1] = arms[s]["elbow"]
        J[:, :, off + 2] = arms[s]["wrist"]
    J[:, :, 8], J[:, :, 9] = lm["right_eye"], lm["left_eye"]
    J[:, :, 10], J[:, :, 11] = lm["right_ear"], lm["left_ear"]
    J[:, :, 12:17] = arms[0]["tips"]
    J[:, :, 17:22] = arms[1]["tips"]
    R, pivot = torso_transform(body, ctl)
    return to_world(J, R, pivot, ctl["torso_pos"])
