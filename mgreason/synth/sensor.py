"""Camera and pose-tracker model: turns world joints into what OpenPose would report.

* Camera: perspective projection at 1.8-4 m, scale, image offset, small yaw/pitch/roll,
  slow drift (and, for long sessions, occasional cuts to a new framing).
* Tracker: per-joint confidence (lower for fingertips, hidden hands, far ear when the
  head turns, motion blur, hands near the face), jitter that grows as confidence
  drops, bursts of missing joints and whole hands, joints outside the image lost,
  rare fingertip outliers and left/right hand swaps; optionally (``still``) keypoints that stand still
  while the body does, as real OpenPose output does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from mgreason.synth.body import Body, Controls, _Arrays, rot_matrix
from mgreason.synth.idle import smooth_noise

__all__ = ["Camera", "sample_cameras", "perturb_cameras", "project", "observe", "SensorConfig"]

# imigue22 joint groups
NOSE, NECK = 0, 1
SHOULDERS, ELBOWS, WRISTS = [2, 5], [3, 6], [4, 7]
EYES, EARS = [8, 9], [10, 11]
TIPS = [list(range(12, 17)), list(range(17, 22))]  # right, left
_BASE_CONF = np.array(
    [0.8, 0.6, 0.45, 0.5, 0.55, 0.45, 0.5, 0.55, 0.85, 0.85, 0.75, 0.75] + [0.18, 0.32, 0.42, 0.42, 0.45] * 2
)
_DROP_RATE = np.array(
    [0.008, 0.004, 0.01, 0.03, 0.04, 0.01, 0.03, 0.04, 0.01, 0.01, 0.04, 0.04] + [0.07, 0.05, 0.05, 0.05, 0.06] * 2
)
_JITTER = np.array(  # standard deviation in shoulder widths at confidence ~0.5
    [0.003, 0.004, 0.005, 0.007, 0.007, 0.005, 0.007, 0.007, 0.0025, 0.0025, 0.004, 0.004] + [0.018] * 10
)


@dataclass
class SensorConfig:
    level: float = 1.0  # scales noise, dropouts and outliers (0 = perfect tracking)
    img_shape: tuple[int, int] = (720, 1280)  # (H, W)
    drift: bool = True  # slow camera drift
    cut_every_s: float = 0.0  # mean time between camera cuts (0 = none)
    # Real OpenPose output stands still when the body does (iMiGUE video 298: in about half of the frames
    # the body keypoints move less than 0.3 px; see benchmarks/results/sim2real.md). ``still`` > 0 holds
    # every reported joint until its true position has moved ``still * 0.02`` shoulder widths since the
    # last report. 0 = the original always-jittering tracker.
    still: float = 0.0
    jitter: float = 1.0  # scales the white frame-to-frame jitter (on top of ``level``)
    # Real OpenPose positions lie on its heatmap grid: iMiGUE 298's joints move by 0 or by multiples of ~1.9 px
    # (1280 / 656 at the default net resolution). ``grid_px`` > 0 rounds the reported positions (after jitter)
    # to a grid of that many pixels per 1280 px of image width. 0 = off.
    grid_px: float = 0.0


@dataclass
class Camera(_Arrays):
    dist: np.ndarray
    px_per_m: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    cx: np.ndarray
    cy: np.ndarray


def sample_cameras(rng: np.random.Generator, n: int, img_shape: tuple[int, int] = (720, 1280)) -> Camera:
    H, W = img_shape
    scale = W / 1280.0
    return Camera(
        dist=rng.uniform(1.8, 4.0, n),
        px_per_m=rng.uniform(550, 1200, n) * scale,
        yaw=rng.normal(0, 0.15, n).clip(-0.4, 0.4),
        pitch=rng.uniform(-0.05, 0.25, n),  # > 0: camera above, looking down
        roll=rng.normal(0, 0.03, n),
        cx=rng.uniform(0.35, 0.65, n) * W,
        cy=rng.uniform(0.36, 0.56, n) * H,
    )


def perturb_cameras(rng: np.random.Generator, cam: Camera, amount: float = 1.0) -> Camera:
    n = len(cam)
    return Camera(
        dist=cam.dist * np.exp(rng.normal(0, 0.05 * amount, n)),
        px_per_m=cam.px_per_m * np.exp(rng.normal(0, 0.1 * amount, n)),
        yaw=cam.yaw + rng.normal(0, 0.06 * amount, n),
        pitch=cam.pitch + rng.normal(0, 0.04 * amount, n),
        roll=cam.roll + rng.normal(0, 0.015 * amount, n),
        cx=cam.cx + rng.normal(0, 40 * amount, n),
        cy=cam.cy + rng.normal(0, 25 * amount, n),
    )


def project(
    world: np.ndarray, cam: Camera, offset: np.ndarray | None = None, zoom: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Perspective projection: image (N, T, V, 2) in pixels and camera depth (N, T, V).

    ``offset`` (N, T, 2) pixels and ``zoom`` (N, T) are optional time-varying camera moves.
    """
    R = rot_matrix(cam.pitch, cam.yaw, cam.roll)  # (N, 3, 3)
    N, T, V, _ = world.shape
    p = (world.reshape(N, T * V, 3) @ np.swapaxes(R, -1, -2)).reshape(N, T, V, 3)
    z = p[..., 2] + cam.dist[:, None, None]
    f = (cam.px_per_m * cam.dist)[:, None, None]
    if zoom is not None:
        f = f * zoom[..., None]
    x = cam.cx[:, None, None] + f * p[..., 0] / z
    y = cam.cy[:, None, None] + f * p[..., 1] / z
    img = np.stack([x, y], -1)
    if offset is not None:
        img = img + offset[:, :, None, :]
    return img, z


def _camera_moves(
    rng: np.random.Generator, n: int, T: int, fps: float, cfg: SensorConfig
) -> tuple[np.ndarray, np.ndarray]:
    offset = np.zeros((n, T, 2))
    zoom = np.ones((n, T))
    if cfg.drift:
        amp = rng.uniform(0, 25, (n, 1, 1)) * cfg.level
        offset += amp * smooth_noise(rng, (n, T, 2), 2.0 * fps)
        zoom *= np.exp(0.02 * cfg.level * smooth_noise(rng, (n, T), 3.0 * fps))
    if cfg.cut_every_s > 0:
        for i in range(n):
            t = 0.0
            while True:
                t += rng.exponential(cfg.cut_every_s) + 5.0
                k = int(t * fps)
                if k >= T:
                    break
                offset[i, k:] += rng.normal(0, [60, 30])
                zoom[i, k:] *= np.exp(rng.normal(0, 0.15))
    return offset, zoom


def _bursts(rng: np.random.Generator, shape: tuple[int, ...], rate: np.ndarray, sigma: float) -> np.ndarray:
    """Boolean mask with the given per-element rate, in bursts of ~sigma frames."""
    z = smooth_noise(rng, shape, sigma, dtype=np.float32)
    thr = ndtri(1.0 - np.clip(rate, 1e-6, 0.999))
    return z > thr


def _hold(coords: np.ndarray, true: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Each joint keeps its last reported position until its true position has moved more than ``thr``
    since that report; then it reports the new (noisy) position.

    ``coords`` and ``true`` (N, T, V, 2), ``thr`` broadcastable to (N, T, V, 1), in pixels."""
    out = np.empty_like(coords)
    rep, ref = coords[:, 0].copy(), true[:, 0].copy()
    out[:, 0] = rep
    thr2 = np.broadcast_to(thr, coords.shape[:3] + (1,))[..., 0] ** 2
    for t in range(1, coords.shape[1]):
        move = ((true[:, t] - ref) ** 2).sum(-1) > thr2[:, t]
        ref = np.where(move[..., None], true[:, t], ref)
        rep = np.where(move[..., None], coords[:, t], rep)
        out[:, t] = rep
    return out


def observe(
    rng: np.random.Generator,
    world: np.ndarray,
    body: Body,
    cam: Camera,
    ctl: Controls,
    fps: float,
    cfg: SensorConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """OpenPose-like 2D coordinates (N, T, 22, 2; NaN where missing) and confidences (N, T, 22)."""
    N, T, V, _ = world.shape
    lev = cfg.level
    offset, zoom = _camera_moves(rng, N, T, fps, cfg)
    img, depth = project(world, cam, offset, zoom)
    img = img.astype(np.float32)
    S = ((cam.px_per_m * body.shoulder_w)[:, None, None] * zoom[..., None]).astype(np.float32)  # shoulder width, px

    # ---- confidence -------------------------------------------------------------
    quality = (rng.uniform(0.75, 1.15, (N, 1, 1)) * rng.uniform(0.85, 1.15, (N, 1, V)) * _BASE_CONF).astype(np.float32)
    conf = quality + np.float32(0.08) * smooth_noise(rng, (N, T, V), 2.0, dtype=np.float32)
    vis = ctl["hand_vis"].astype(np.float32)
    occl = ctl["finger_occl"].astype(np.float32)
    for side in (0, 1):
        v = vis[..., side : side + 1]
        conf[..., WRISTS[side] : WRISTS[side] + 1] *= 0.25 + 0.75 * v
        conf[..., ELBOWS[side] : ELBOWS[side] + 1] *= 0.6 + 0.4 * v
        conf[..., TIPS[side]] *= v * (1.0 - 0.75 * occl[..., side : side + 1])
    # fingertips close to the face are harder
    face = img[..., [NOSE, 8, 9], :].mean(axis=2, keepdims=True)
    near = np.linalg.norm(img[..., 12:22, :] - face, axis=-1) / S
    conf[..., 12:22] *= 0.55 + 0.45 * np.clip(near / 0.45, 0, 1)
    # the far ear disappears when the head turns
    ear_depth = depth[..., EARS] - depth[..., EARS].mean(-1, keepdims=True)
    rel = ear_depth / body.head_r[:, None, None]  # in head radii; > 0 = turned away
    conf[..., EARS] *= np.clip(1.0 - (rel - 0.12) / 0.3, 0.0, 1.0)
    # motion blur
    speed = np.zeros((N, T, V))
    speed[:, 1:] = np.linalg.norm(np.diff(img, axis=1), axis=-1) / S[:, 1:]
    conf *= 1.0 / (1.0 + (speed / 0.12) ** 2)
    conf = np.clip(conf, 0.02, 0.98)

    # ---- missing joints -----------------------------------------------------------
    rate_scale = rng.uniform(0.3, 1.7, (N, 1, 1)) * lev
    missing = _bursts(rng, (N, T, V), _DROP_RATE * rate_scale, 3.0)
    hand_rate = 0.03 * rate_scale[..., 0]
    for side in (0, 1):
        hand_gone = _bursts(rng, (N, T), hand_rate[:, :1] * np.ones((1, T)), 4.0)
        hand_gone |= (vis[..., side] < 0.15) & (rng.random((N, T)) < 0.9)
        missing[..., TIPS[side]] |= hand_gone[..., None]
        missing[..., WRISTS[side]] |= hand_gone & (rng.random((N, 1)) < 0.6)
    missing |= _bursts(rng, (N, T), np.full((N, T), 0.004 * lev), 3.0)[..., None]  # nobody detected
    missing |= conf < 0.05
    H, W = cfg.img_shape
    outside = (img[..., 0] < 0) | (img[..., 0] >= W) | (img[..., 1] < 0) | (img[..., 1] >= H)
    missing |= outside & (rng.random((N, 1, V)) < 0.85)
    conf = np.where(outside, conf * 0.3, conf)

    # ---- jitter, outliers, swaps --------------------------------------------------------
    sd = (_JITTER * lev * (1.6 - conf) * S).astype(np.float32)[..., None]
    noise = rng.standard_normal((N, T, V, 2), dtype=np.float32)
    noise += 0.5 * smooth_noise(rng, (N, T, V, 2), 3.0, dtype=np.float32)
    if cfg.jitter != 1.0:
        sd = sd * np.float32(cfg.jitter)
    coords = img.astype(np.float32) + noise * sd
    if cfg.still > 0:
        coords = _hold(coords, img, (np.float32(0.02 * cfg.still) * S)[..., None])
    outl = np.nonzero(rng.random((N, T, 10), dtype=np.float32) < 0.003 * lev)
    if outl[0].size:
        jump = rng.normal(0, 0.25, (outl[0].size, 2)) * S[outl[0], outl[1]]
        coords[outl[0], outl[1], 12 + outl[2]] += jump.astype(np.float32)
        conf[outl[0], outl[1], 12 + outl[2]] = rng.uniform(0.05, 0.25, outl[0].size)
    hands_close = np.linalg.norm(img[..., 4, :] - img[..., 7, :], axis=-1) / S[..., 0] < 0.35
    swap = hands_close & _bursts(rng, (N, T), np.full((N, T), 0.08 * lev), 3.0)
    if swap.any():
        a, b = coords[..., 12:17, :].copy(), coords[..., 17:22, :].copy()
        coords[..., 12:17, :] = np.where(swap[..., None, None], b, a)
        coords[..., 17:22, :] = np.where(swap[..., None, None], a, b)

    if cfg.grid_px > 0:  # every reported position on the heatmap grid
        g = np.float32(cfg.grid_px * cfg.img_shape[1] / 1280.0)
        coords = np.round(coords / g) * g
    conf = np.where(missing, 0.0, conf).astype(np.float32)
    coords = np.where(missing[..., None], np.nan, coords).astype(np.float32)
    return coords, conf
