"""MG-aware augmentations on plain arrays.

A :class:`Clip` holds a *normalised* clip (centred on the neck, unit shoulder width; see
:func:`mgreason.recognizer.preprocessing.prepare_sequence`): ``coords (T, V, C)`` finite,
``conf (T, V)``, an integer ``label`` and optional ``meta`` (e.g. ``core = (start, end)`` frames of the
gesture core when a generator knows it). Every augmentation is a callable ``aug(clip, rng) -> clip``
that never modifies its input.

Micro-gestures are small, brief and often repetitive, so the settings are conservative (see the
research notes, section 4):

==================  =======================================================================
``rotate``          in-plane rotation ≤ ±``max_deg`` (2D); yaw (+ 1/3 pitch/roll) for 3D
``scale``           isotropic scale in [low, high] with a little anisotropy
``shear``           mild shear (≤ 0.1-0.2; contrastive defaults of 0.5 distort hand-face geometry)
``jitter``          Gaussian joint noise with σ ≈ 0.5 % of the shoulder width (MG amplitude ≥ 10 %)
``speed``           time resampling by a factor in [0.8, 1.25]
``motion_crop``     a temporal crop that keeps ≥ ``keep_energy`` of the motion energy (and the core)
``repeat_crop``     for periodic clips: a crop of ≥ ``min_cycles`` whole cycles, sometimes looped
``posterize``       sample-and-hold in time (frames repeated in runs of 2-``max_hold``)
``mask``            hide a *static*, untouched body part (never a moving part, never the hands)
``flip``            mirror x and swap left/right joints, and lateralised labels
==================  =======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np

from mgreason.skeleton.layouts import get_layout, mirror_name

__all__ = [
    "Clip",
    "Rotate",
    "Scale",
    "Shear",
    "Jitter",
    "Speed",
    "MotionCrop",
    "RepeatCrop",
    "Posterize",
    "BodyPartMask",
    "Flip",
    "Compose",
    "build_augmentations",
    "flip_label_map",
    "motion_energy",
    "estimate_period",
    "core_span",
    "body_part_groups",
]


@dataclass
class Clip:
    coords: np.ndarray  # (T, V, C) float32, normalised and finite
    conf: np.ndarray  # (T, V) float32
    label: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.coords.shape[0])

    def with_(self, **kw: Any) -> "Clip":
        return replace(self, **kw)


# --------------------------------------------------------------------------- helpers
def motion_energy(coords: np.ndarray, conf: Optional[np.ndarray] = None) -> np.ndarray:
    """Per-frame motion energy ``(T,)``: summed joint speed around each frame (confidence weighted)."""
    T = coords.shape[0]
    if T < 2:
        return np.zeros(T, dtype=np.float64)
    sp = np.linalg.norm(np.diff(coords, axis=0), axis=-1)  # (T-1, V)
    if conf is not None:
        sp = sp * np.minimum(conf[1:], conf[:-1])
    e = sp.sum(axis=1)
    out = np.zeros(T)
    out[:-1] += 0.5 * e
    out[1:] += 0.5 * e
    return out


def joint_energy(coords: np.ndarray, conf: Optional[np.ndarray] = None) -> np.ndarray:
    """Per-joint total path length ``(V,)``."""
    if coords.shape[0] < 2:
        return np.zeros(coords.shape[1])
    sp = np.linalg.norm(np.diff(coords, axis=0), axis=-1)
    if conf is not None:
        sp = sp * np.minimum(conf[1:], conf[:-1])
    return sp.sum(axis=0)


def core_span(coords: np.ndarray, conf: Optional[np.ndarray] = None, level: float = 0.6) -> tuple[int, int]:
    """Frames ``[a, b)`` where the most-moving joint is far from its rest position (the "hold" of a
    reach-act-return gesture: ≥ ``level`` of its largest smoothed displacement from the clip ends)."""
    from scipy.ndimage import uniform_filter1d

    T = coords.shape[0]
    if T < 4:
        return 0, T
    je = joint_energy(coords, conf)
    j = int(np.argmax(je))
    sm = uniform_filter1d(coords[:, j].astype(np.float64), min(9, T), axis=0, mode="nearest")
    k = max(1, T // 10)
    rest = np.median(np.concatenate([sm[:k], sm[-k:]]), axis=0)
    r = np.linalg.norm(sm - rest, axis=-1)
    if r.max() <= 0:
        return 0, T
    idx = np.flatnonzero(r >= level * r.max())
    return int(idx[0]), int(idx[-1]) + 1


def estimate_period(
    coords: np.ndarray,
    conf: Optional[np.ndarray] = None,
    min_lag: int = 3,
    hp_window: int = 15,
    top_joints: int = 3,
    velocity: bool = True,
    smooth: float = 1.0,
) -> tuple[Optional[int], float]:
    """Dominant period (frames) of the clip's oscillating joints, by autocorrelation.

    The signal is each joint's velocity (``velocity=True``; weights fast oscillations over slow
    reaches) or position, lightly smoothed (Gaussian ``smooth`` frames, against tracker jitter) and high-passed (minus a ``hp_window``-frame moving average); the
    ``top_joints`` joints with the most high-passed energy are kept and their summed autocorrelation
    is searched for the first peak after ``min_lag`` (at most half the clip). Returns
    ``(period, peak)`` with the peak height in [-1, 1]; ``(None, 0.0)`` without a peak.
    """
    from scipy.ndimage import uniform_filter1d

    from scipy.ndimage import gaussian_filter1d

    x = coords.astype(np.float64)
    if smooth > 0 and x.shape[0] > 4:
        x = gaussian_filter1d(x, smooth, axis=0, mode="nearest")  # tracker jitter would dominate velocities
    if velocity:
        x = np.diff(x, axis=0)
    T = x.shape[0]
    if T < 2 * min_lag + 2:
        return None, 0.0
    w = int(max(3, min(hp_window, T // 2)))
    hp = x - uniform_filter1d(x, w, axis=0, mode="nearest")
    e = (hp**2).sum(axis=(0, 2))
    top = np.argsort(-e)[:top_joints]
    sig = hp[:, top, :].reshape(T, -1)
    sig = sig - sig.mean(axis=0)
    if not np.any(np.abs(sig) > 1e-9):
        return None, 0.0
    n = 1 << int(np.ceil(np.log2(2 * T)))
    f = np.fft.rfft(sig, n, axis=0)
    ac = np.fft.irfft(f * np.conj(f), n, axis=0)[:T].sum(axis=1)
    ac = ac / (ac[0] + 1e-12) * T / np.maximum(T - np.arange(T), 1)  # unbiased
    hi = T // 2 + 1
    for lag in range(min_lag, hi):
        if ac[lag] >= ac[lag - 1] and ac[lag] >= ac[min(lag + 1, T - 1)] and ac[lag] > 0:
            return lag, float(min(ac[lag], 1.0))
    return None, 0.0


def _resample_time(coords: np.ndarray, conf: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling to ``n`` frames spanning the same time interval."""
    T = coords.shape[0]
    n = max(1, int(n))
    if T == 1:
        return np.repeat(coords, n, 0), np.repeat(conf, n, 0)
    pos = np.linspace(0, T - 1, n)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, T - 1)
    a = (pos - i0)[:, None, None]
    c = coords[i0] * (1 - a) + coords[i1] * a
    cf = np.minimum(conf[i0], conf[i1])
    return c.astype(np.float32), cf.astype(np.float32)


def _scale_core(meta: dict[str, Any], factor: float, T_new: int) -> dict[str, Any]:
    m = dict(meta)
    if "core" in m and m["core"] is not None:
        a, b = m["core"]
        m["core"] = (int(round(a * factor)), min(T_new, max(int(round(a * factor)) + 1, int(round(b * factor)))))
    return m


def _shift_core(meta: dict[str, Any], start: int, length: int) -> dict[str, Any]:
    m = dict(meta)
    if "core" in m and m["core"] is not None:
        a, b = m["core"]
        a, b = max(0, a - start), min(length, b - start)
        m["core"] = (a, b) if b > a else None
    return m


# --------------------------------------------------------------------------- spatial
def _rotation_matrix(rng: np.random.Generator, C: int, max_deg: float) -> np.ndarray:
    th = np.deg2rad(rng.uniform(-max_deg, max_deg))
    if C == 2:
        c, s = np.cos(th), np.sin(th)
        return np.array([[c, -s], [s, c]])
    # 3D: yaw about the vertical (y) axis, smaller pitch and roll
    ph = np.deg2rad(rng.uniform(-max_deg, max_deg) / 3)
    ro = np.deg2rad(rng.uniform(-max_deg, max_deg) / 3)
    cy, sy = np.cos(th), np.sin(th)
    cp, sp = np.cos(ph), np.sin(ph)
    cr, sr = np.cos(ro), np.sin(ro)
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    Rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return Ry @ Rx @ Rz


def _linear(clip: Clip, M: np.ndarray) -> Clip:
    return clip.with_(coords=(clip.coords @ M.T).astype(np.float32))


@dataclass
class Rotate:
    max_deg: float = 10.0

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        return _linear(clip, _rotation_matrix(rng, clip.coords.shape[-1], self.max_deg))


@dataclass
class Scale:
    low: float = 0.9
    high: float = 1.1
    anisotropy: float = 0.05

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        C = clip.coords.shape[-1]
        s = rng.uniform(self.low, self.high) * (1 + rng.uniform(-self.anisotropy, self.anisotropy, C))
        return _linear(clip, np.diag(s))


@dataclass
class Shear:
    max_shear: float = 0.1

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        C = clip.coords.shape[-1]
        M = np.eye(C)
        M[0, 1] = rng.uniform(-self.max_shear, self.max_shear)
        M[1, 0] = rng.uniform(-self.max_shear, self.max_shear)
        return _linear(clip, M)


@dataclass
class Jitter:
    sigma: float = 0.005

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        noise = rng.normal(0.0, self.sigma, clip.coords.shape) * (clip.conf[..., None] > 0)
        return clip.with_(coords=(clip.coords + noise).astype(np.float32))


# --------------------------------------------------------------------------- temporal
@dataclass
class Speed:
    low: float = 0.8
    high: float = 1.25

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        f = float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))  # > 1 = faster = fewer frames
        T = clip.num_frames
        n = max(2, int(round(T / f)))
        c, cf = _resample_time(clip.coords, clip.conf, n)
        return clip.with_(coords=c, conf=cf, meta=_scale_core(clip.meta, (n - 1) / max(T - 1, 1), n))


@dataclass
class MotionCrop:
    """Temporal crop whose window holds ≥ ``keep_energy`` of the clip's motion energy (and the core)."""

    min_ratio: float = 0.6
    keep_energy: float = 0.8

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        T = clip.num_frames
        if T < 4:
            return clip
        e = motion_energy(clip.coords, clip.conf)
        total = e.sum()
        cs = np.concatenate([[0.0], np.cumsum(e)])
        core = clip.meta.get("core")
        L = int(round(rng.uniform(self.min_ratio, 1.0) * T))
        L = max(2, min(T, L))
        while True:
            starts = np.arange(0, T - L + 1)
            ok = (cs[starts + L] - cs[starts]) >= self.keep_energy * total - 1e-9
            if core is not None:
                a, b = core
                ok &= (starts <= a) & (starts + L >= b)
            if ok.any() or L >= T:
                break
            L = min(T, L + max(1, T // 20))
        if not ok.any():
            return clip
        s = int(rng.choice(starts[ok]))
        return clip.with_(
            coords=clip.coords[s : s + L].copy(), conf=clip.conf[s : s + L].copy(), meta=_shift_core(clip.meta, s, L)
        )


@dataclass
class RepeatCrop:
    """For periodic clips: keep ≥ ``min_cycles`` whole cycles of the gesture core, sometimes looped.

    The core is the hold phase of the most-moving joint (:func:`core_span`; the whole clip when there
    is no reach, e.g. shaking shoulders); the period comes from :func:`estimate_period` on it. Clips
    without a clear period (autocorrelation peak < ``min_periodicity``) are returned unchanged.
    """

    min_cycles: float = 1.0
    min_periodicity: float = 0.3
    tile_p: float = 0.3

    def analyse(self, clip: Clip) -> tuple[int, int, Optional[int], float]:
        a, b = core_span(clip.coords, clip.conf)
        if b - a < 12:
            a, b = 0, clip.num_frames
        period, peak = estimate_period(clip.coords[a:b], clip.conf[a:b])
        if period is None or peak < self.min_periodicity:
            period2, peak2 = estimate_period(clip.coords, clip.conf)
            if period2 is not None and peak2 > peak:
                a, b, period, peak = 0, clip.num_frames, period2, peak2
        return a, b, period, peak

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        if clip.num_frames < 12:
            return clip
        a, b, period, peak = self.analyse(clip)
        if period is None or peak < self.min_periodicity:
            return clip
        need = int(np.ceil(self.min_cycles * period))
        span = b - a
        if need > span:
            return clip
        lo = int(np.ceil(self.min_cycles))
        n_cycles = int(rng.integers(lo, max(lo, span // period) + 1))
        L = max(need, min(span, n_cycles * period))
        s = int(rng.integers(a, b - L + 1))
        coords, conf = clip.coords[s : s + L], clip.conf[s : s + L]
        if rng.random() < self.tile_p:
            # loop the kept cycles once more (the repeat count varies between people)
            whole = max(period, (L // period) * period)
            coords = np.concatenate([coords, coords[:whole]])
            conf = np.concatenate([conf, conf[:whole]])
        meta = dict(clip.meta)
        meta.pop("core", None)  # the window is all core now
        meta["period"] = int(period)
        return clip.with_(coords=np.ascontiguousarray(coords), conf=np.ascontiguousarray(conf), meta=meta)


@dataclass
class Posterize:
    """Sample-and-hold in time: runs of ``h`` frames show the run's first frame (h in 2..max_hold)."""

    max_hold: int = 3

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        h = int(rng.integers(2, self.max_hold + 1))
        T = clip.num_frames
        off = int(rng.integers(0, h))
        idx = np.maximum(((np.arange(T) + off) // h) * h - off, 0)
        return clip.with_(coords=clip.coords[idx].copy(), conf=clip.conf[idx].copy())


# --------------------------------------------------------------------------- body parts
_HEAD_TOKENS = {"nose", "eye", "ear", "head", "face", "chin", "mouth", "upper_neck"}
_HAND_TOKENS = {"wrist", "hand", "thumb", "index", "middle", "ring", "pinky"}
_ARM_TOKENS = {"shoulder", "elbow"}
_LEG_TOKENS = {"hip", "knee", "ankle", "foot", "toe", "heel"}


def body_part_groups(layout: str) -> dict[str, list[int]]:
    """Joint indices per body part: head, torso, left/right arm, left/right hand, left/right leg."""
    lay = get_layout(layout)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(lay.joints):
        toks = set(name.split("_"))
        side = "left" if "left" in toks else "right" if "right" in toks else ""
        if name in ("neck", "spine_mid", "spine_base", "mid_hip"):
            part = "torso"
        elif toks & _HEAD_TOKENS or name.startswith("face_"):
            part = "head"
        elif toks & _HAND_TOKENS or "pose" in toks:
            part = f"{side}_hand" if side else "torso"
        elif toks & _ARM_TOKENS:
            part = f"{side}_arm" if side else "torso"
        elif toks & _LEG_TOKENS:
            part = f"{side}_leg" if side else "torso"
        else:
            part = "torso"
        groups.setdefault(part, []).append(i)
    return groups


@dataclass
class BodyPartMask:
    """Hide up to ``max_parts`` body parts that are static *and* untouched (confidence 0, joints put
    on their nearest visible ancestor, as missing joints are filled). The hands, the most-moving part
    and any part a hand comes close to (a contact target) are never masked."""

    layout: str
    max_parts: int = 1
    contact_radius: float = 0.35  # shoulder widths
    static_ratio: float = 0.25  # a part is static if its energy per joint is below this share of the max

    def __post_init__(self) -> None:
        self._lay = get_layout(self.layout)
        self._groups = body_part_groups(self.layout)
        self._hand = sorted(i for k, v in self._groups.items() if k.endswith("hand") for i in v)

    def candidates(self, clip: Clip) -> list[str]:
        je = joint_energy(clip.coords, clip.conf)
        per = {k: float(je[v].mean()) for k, v in self._groups.items()}
        top = max(per.values()) if per else 0.0
        out = []
        for name, idx in self._groups.items():
            if name.endswith("hand"):
                continue
            if top > 0 and per[name] > self.static_ratio * top:
                continue
            if self._hand:
                d = np.linalg.norm(clip.coords[:, self._hand][:, :, None] - clip.coords[:, idx][:, None], axis=-1)
                if np.nanmin(d) < self.contact_radius:
                    continue
            out.append(name)
        return sorted(out)

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        cand = self.candidates(clip)
        if not cand:
            return clip
        k = int(rng.integers(1, min(self.max_parts, len(cand)) + 1))
        chosen = rng.choice(len(cand), size=k, replace=False)
        masked = sorted(i for c in chosen for i in self._groups[cand[int(c)]])
        coords, conf = clip.coords.copy(), clip.conf.copy()
        conf[:, masked] = 0.0
        parents = self._lay.parents
        mset = set(masked)
        for j in masked:
            p = j
            while p in mset and parents[p] >= 0:
                p = int(parents[p])
            if p not in mset:
                coords[:, j] = coords[:, p]
        meta = dict(clip.meta, masked_parts=[cand[int(c)] for c in chosen])
        return clip.with_(coords=coords, conf=conf, meta=meta)


def flip_label_map(names: Sequence[str]) -> list[int]:
    """For each label, the label of its mirror image (names with left/right swapped), else itself."""
    index = {n: i for i, n in enumerate(names)}
    out = []
    for i, n in enumerate(names):
        m = " ".join(mirror_name(tok) for tok in n.replace("-", " ").split(" "))
        m2 = mirror_name(n)
        out.append(index.get(m, index.get(m2, i)))
    return out


@dataclass
class Flip:
    """Mirror x and swap left/right joints; lateralised labels swap via ``label_map``."""

    layout: str
    label_map: Optional[Sequence[int]] = None

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        perm = get_layout(self.layout).flip_index
        coords = clip.coords[:, perm].copy()
        coords[..., 0] *= -1
        label = clip.label
        if self.label_map is not None and 0 <= label < len(self.label_map):
            label = int(self.label_map[label])
        meta = dict(clip.meta)
        for k in ("hand", "side"):
            if isinstance(meta.get(k), str):
                meta[k] = mirror_name(meta[k])
        meta["flipped"] = not meta.get("flipped", False)
        return clip.with_(coords=coords, conf=clip.conf[:, perm].copy(), label=label, meta=meta)


# --------------------------------------------------------------------------- pipeline
@dataclass
class Compose:
    """Apply ``(name, p, aug)`` steps in order, each with its own probability."""

    steps: list[tuple[str, float, Callable[[Clip, np.random.Generator], Clip]]]

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        for _, p, aug in self.steps:
            if p > 0 and rng.random() < p:
                clip = aug(clip, rng)
        return clip

    @property
    def names(self) -> list[str]:
        return [n for n, p, _ in self.steps if p > 0]


def build_augmentations(cfg: Any, layout: str, label_names: Optional[Sequence[str]] = None) -> tuple[Compose, Compose]:
    """``(temporal, spatial)`` pipelines from an :class:`~mgreason.recognizer.config.AugmentConfig`.

    The temporal one runs on the prepared clip before frame sampling, the spatial one after.
    """
    lm = flip_label_map(label_names) if label_names else None
    temporal = [
        ("speed", cfg.speed.p, Speed(cfg.speed.low, cfg.speed.high)),
        ("motion_crop", cfg.motion_crop.p, MotionCrop(cfg.motion_crop.min_ratio, cfg.motion_crop.keep_energy)),
        ("repeat_crop", cfg.repeat_crop.p, RepeatCrop(cfg.repeat_crop.min_cycles, cfg.repeat_crop.min_periodicity, cfg.repeat_crop.tile_p)),
        ("posterize", cfg.posterize.p, Posterize(cfg.posterize.max_hold)),
    ]  # fmt: skip
    spatial = [
        ("rotate", cfg.rotate.p, Rotate(cfg.rotate.max_deg)),
        ("scale", cfg.scale.p, Scale(cfg.scale.low, cfg.scale.high, cfg.scale.anisotropy)),
        ("shear", cfg.shear.p, Shear(cfg.shear.max_shear)),
        ("jitter", cfg.jitter.p, Jitter(cfg.jitter.sigma)),
        ("mask", cfg.mask.p, BodyPartMask(layout, cfg.mask.max_parts)),
        ("flip", cfg.flip.p, Flip(layout, lm)),
    ]
    return Compose(temporal), Compose(spatial)
