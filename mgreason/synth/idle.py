"""Idle behaviour of a seated speaker: breathing, postural sway, talking head motion,
resting hands (on the table, loosely together, in the lap) that are repositioned now
and then. None of it is a labelled micro-gesture.

:func:`idle_controls` returns the torso/head controls and the resting hand
configuration *in world coordinates* (hands lie on the table and stay there when the
torso moves); :func:`rest_to_torso` converts the latter once the torso motion is final.
"""

from __future__ import annotations

import numpy as np

from mgreason.synth.body import SIDE, Body, Controls, Style, to_torso, torso_transform, unit

__all__ = ["smooth_noise", "smoothstep", "idle_controls", "rest_to_torso", "REST_KEYS"]

REST_KEYS = ("hand_p", "hand_d", "hand_n", "hand_k", "curl", "spread", "thumb", "pole", "hand_vis")


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk ramp 0 -> 1 on [0, 1] (clipped outside)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10 - 15 * x + 6 * x * x)


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sigma_frames: float, dtype: type = np.float64
) -> np.ndarray:
    """Smooth random signal along axis 1 with unit variance and a correlation time of ~sigma frames.

    Gaussian knots every ~1.5 sigma frames joined by C1 (smoothstep) interpolation,
    normalised to unit variance at every frame; far cheaper than a long convolution.
    """
    T = shape[1]
    if sigma_frames <= 0.5:
        return rng.standard_normal(shape, dtype=dtype)
    step = 1.5 * sigma_frames
    K = int(np.ceil(T / step)) + 2
    knots = rng.standard_normal((shape[0], K) + tuple(shape[2:]), dtype=dtype)
    pos = np.arange(T) / step + rng.random()
    i0 = np.floor(pos).astype(np.int64)
    w = pos - i0
    w = w * w * (3 - 2 * w)
    norm = 1.0 / np.sqrt((1 - w) ** 2 + w**2)
    extra = (1,) * (len(shape) - 2)
    a = ((1 - w) * norm).reshape((1, T) + extra).astype(dtype)
    b = (w * norm).reshape((1, T) + extra).astype(dtype)
    return knots[:, i0] * a + knots[:, i0 + 1] * b


def _rest_configs(rng: np.random.Generator, body: Body, style: Style, n: int, K: int) -> dict[str, np.ndarray]:
    """K resting configurations per row: (n, K, 2, ...) arrays in world coordinates."""
    u = rng.random((n, K))
    cum = np.cumsum(style.rest_mode_p, axis=1)[:, None, :]
    mode = (u[..., None] > cum).sum(-1).clip(0, 3)  # 0 apart, 1 together, 2 lap, 3 mixed
    ty = body.table_y[:, None, None]
    tz = body.table_z[:, None, None]
    s = SIDE[None, None, :]
    spacing = style.hand_spacing[:, None, None] * rng.uniform(0.75, 1.25, (n, K, 1))
    together = (mode == 1)[..., None]
    which = rng.integers(0, 2, (n, K, 1))  # in the mixed mode, the hand that lies in the lap
    lap = (mode == 2)[..., None] | ((mode == 3)[..., None] & (np.arange(2)[None, None, :] == which))
    x = np.where(together, s * rng.uniform(0.085, 0.13, (n, K, 2)), s * spacing + rng.normal(0, 0.02, (n, K, 2)))
    y = np.where(lap, ty + rng.uniform(0.07, 0.16, (n, K, 2)), ty + rng.normal(0, 0.01, (n, K, 2)))
    z = np.where(lap, -rng.uniform(0.06, 0.15, (n, K, 2)), tz + rng.normal(0, 0.03, (n, K, 2)))
    p = np.stack([x, y, z], -1)
    inward = np.where(together, rng.uniform(0.5, 0.9, (n, K, 2)), rng.uniform(0.1, 0.5, (n, K, 2)))
    d = unit(np.stack([-s * inward, np.where(lap, 0.5, 0.12) + 0 * inward, -np.ones_like(inward)], -1))
    palm_in = rng.uniform(0.0, 1.2, (n, K, 2))
    nrm = unit(np.stack([-s * palm_in, np.ones_like(palm_in), np.zeros_like(palm_in)], -1))
    out = style.elbow_out[:, None, None] * rng.uniform(0.7, 1.3, (n, K, 2))
    pole = unit(np.stack([s * out, 0.6 + 0 * x, np.where(lap, 0.75, 0.4) + 0 * x], -1))
    vis = np.where(lap, rng.uniform(0.0, 0.45, (n, K, 2)), 1.0)
    return {
        "hand_p": p,
        "hand_d": d,
        "hand_n": nrm,
        "hand_k": np.zeros((n, K, 2)),
        "curl": rng.uniform(0.2, 0.65, (n, K, 2)),
        "spread": rng.uniform(0.7, 1.1, (n, K, 2)),
        "thumb": rng.uniform(0.1, 0.5, (n, K, 2)),
        "pole": pole,
        "hand_vis": vis,
    }


def idle_controls(
    rng: np.random.Generator,
    body: Body,
    style: Style,
    T: int,
    fps: float,
    *,
    mean_rest_s: float = 12.0,
    fidget_scale: float = 1.0,
) -> tuple[Controls, dict[str, np.ndarray]]:
    """Idle controls (N, T) and the resting hands (world frame) for N rows."""
    n = len(body)
    ctl = Controls.zeros(n, T)
    t = np.arange(T) / fps
    fid = (style.fidget * fidget_scale)[:, None, None]
    talk = style.talk[:, None, None]

    # torso: slouch, slow sway, postural drift
    sway = smooth_noise(rng, (n, T, 3), 1.2 * fps)
    drift = smooth_noise(rng, (n, T, 3), 6.0 * fps)
    ctl["torso_pos"] += fid * (sway * np.array([0.006, 0.002, 0.006]) + drift * np.array([0.01, 0.003, 0.012]))
    rot_noise = smooth_noise(rng, (n, T, 3), 1.0 * fps)
    ctl["torso_rot"] += fid * rot_noise * np.array([0.008, 0.015, 0.008])
    ctl["torso_rot"][..., 0] += style.slouch[:, None] + 0.03 * drift[..., 1] * style.fidget[:, None]

    # breathing: shoulders rise and fall, chest (torso pitch) follows a little
    f_b = rng.uniform(0.18, 0.35, (n, 1))
    amp_b = rng.uniform(0.0015, 0.005, (n, 1))
    breath = amp_b * np.sin(2 * np.pi * f_b * t[None] + rng.uniform(0, 2 * np.pi, (n, 1)))
    ctl["shrug"] += breath[..., None] + rng.normal(0, 0.006, (n, 1, 2))  # plus a constant asymmetry
    ctl["torso_rot"][..., 0] -= breath * 1.5
    ctl["shoulder_fwd"] += rng.normal(0, 0.008, (n, 1, 2))
    ctl["shoulder_fwd"] += 0.004 * fid[..., 0:1] * smooth_noise(rng, (n, T, 2), 2 * fps)

    # head: talking motion (fast, small) and looking around (slow, larger)
    fast = smooth_noise(rng, (n, T, 3), 0.25 * fps) * np.array([0.025, 0.03, 0.015])
    slow = smooth_noise(rng, (n, T, 3), 1.5 * fps) * np.array([0.05, 0.12, 0.035])
    ctl["head_rot"] += talk * fast + slow * np.sqrt(talk) + rng.normal(0, 1, (n, 1, 3)) * np.array([0.08, 0.18, 0.04])
    ctl["head_rot"][..., 0] -= 0.7 * style.slouch[:, None]  # keep looking ahead when slouching
    ctl["head_off"] += style.head_fwd[:, None] + rng.normal(0, 0.005, (n, 1, 3))
    ctl["head_off"] += 0.003 * smooth_noise(rng, (n, T, 3), 1.0 * fps)

    # resting hands: K configurations with min-jerk transitions at random times
    dur = T / fps
    K = int(np.clip(np.ceil(dur / mean_rest_s) * 2 + 1, 2, 400))
    cfg = _rest_configs(rng, body, style, n, K)
    gaps = rng.exponential(mean_rest_s, (n, K - 1)) + 1.5
    starts = np.cumsum(gaps, axis=1) - rng.uniform(0, mean_rest_s, (n, 1))  # transition k-1 -> k
    trans = rng.uniform(0.5, 1.1, (n, K - 1))
    k = np.stack([np.searchsorted(starts[i], t, side="right") for i in range(n)])  # (n, T): transitions begun
    rows = np.arange(n)[:, None]
    km1 = np.clip(k - 1, 0, K - 2)
    w = np.where(k > 0, smoothstep((t[None, :] - starts[rows, km1]) / trans[rows, km1]), 1.0)
    prev = np.maximum(k - 1, 0)
    rest: dict[str, np.ndarray] = {}
    for key, val in cfg.items():
        a, b = val[rows, prev], val[rows, k]
        wk = w.reshape(w.shape + (1,) * (a.ndim - 2))
        rest[key] = a + wk * (b - a)
    rest["hand_d"] = unit(rest["hand_d"])
    rest["hand_n"] = unit(rest["hand_n"])
    rest["pole"] = unit(rest["pole"])
    # small drift of the resting hands, finger movements
    rest["hand_p"] = rest["hand_p"] + fid[..., None] * 0.006 * smooth_noise(rng, (n, T, 2, 3), 0.8 * fps)
    rest["curl"] = np.clip(rest["curl"] + 0.08 * smooth_noise(rng, (n, T, 2), 0.5 * fps), 0, 1)
    rest["thumb"] = np.clip(rest["thumb"] + 0.1 * smooth_noise(rng, (n, T, 2), 0.5 * fps), 0, 1)
    return ctl, rest


def rest_to_torso(body: Body, ctl: Controls, rest: dict[str, np.ndarray]) -> None:
    """Write the resting hand configuration into ``ctl`` (world -> torso frame)."""
    R, pivot = torso_transform(body, ctl)
    zero = np.zeros_like(ctl["torso_pos"])
    ctl["hand_p"][:] = to_torso(rest["hand_p"], R, pivot, ctl["torso_pos"])
    for key in ("hand_d", "hand_n", "pole"):
        ctl[key][:] = to_torso(rest[key], R, np.zeros_like(pivot), zero)  # directions: rotation only
    for key in ("hand_k", "curl", "spread", "thumb", "hand_vis"):
        ctl[key][:] = rest[key]
