"""Synthetic micro-gesture data: labelled clips and long annotated sessions.

Both products are deterministic functions of their arguments (same seed, same
arrays). Layout ``imigue22``, 2D pixel coordinates as OpenPose reports them
(missing joints: NaN with confidence 0), iMiGUE label ids.

* :func:`generate_clips` - ``n_per_class`` clips per class, one gesture each, from
  ``n_subjects`` simulated people; subjects are split into train/val/test so that
  no person is in two splits. :meth:`ClipSet.write_pyskl` exports a PYSKL pickle.
* :func:`generate_session` - minutes of idle behaviour with gestures at known times,
  the :class:`~mgreason.skeleton.sequence.SkeletonSequence` plus the ground-truth
  :class:`~mgreason.transcript.Transcript`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.io_pyskl import write_pyskl
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.synth.body import Body, Style, rig, sample_bodies, sample_styles
from mgreason.synth.idle import idle_controls, rest_to_torso
from mgreason.synth.engine import Ctx
from mgreason.synth.gestures import MOTIONS, get_motion, supported_raw_ids
from mgreason.synth.sensor import Camera, SensorConfig, observe, perturb_cameras, sample_cameras
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import MGEvent, Transcript

__all__ = [
    "GeneratorConfig",
    "ClipSet",
    "Session",
    "generate_clips",
    "generate_session",
    "resolve_classes",
    "subject_split",
    "IMIGUE_CLASS_COUNTS",
]

LAYOUT = "imigue22"
_CHUNK = 512  # clips simulated together

# annotation counts per raw class in labels_20200831.csv (used as realistic session class weights)
IMIGUE_CLASS_COUNTS = {
    99: 5715, 31: 2880, 29: 1547, 20: 1217, 8: 1134, 23: 1035, 24: 888, 22: 527, 2: 515, 11: 454, 26: 430,
    17: 406, 4: 271, 21: 227, 12: 198, 13: 140, 9: 132, 18: 131, 27: 100, 28: 99, 5: 90, 7: 90, 14: 70, 3: 45,
    15: 44, 6: 32, 16: 30, 25: 21, 1: 15, 30: 8, 10: 5, 19: 2,
}  # fmt: skip


MAX_FPS = 1000.0  # frame rate of generated skeletons (real trackers: 25-120)
MAX_SESSION_MINUTES = 600.0  # one generated session (10 hours)
MAX_SESSION_FRAMES = 2_000_000  # and at most this many frames (minutes x fps)


@dataclass(frozen=True)
class GeneratorConfig:
    """Knobs of the generator (defaults are the "hard" setting meant for training)."""

    fps: float = 25.0
    img_shape: tuple[int, int] = (720, 1280)
    noise: float = 1.0  # tracker noise / dropout level (0 = perfect tracking)
    amplitude: float = 1.0  # gesture amplitude factor
    fidget: float = 1.0  # idle motion factor
    min_clip_s: float = 1.0
    max_clip_s: float = 6.0
    camera_jitter: float = 1.0  # per-clip deviation from the subject's camera
    still: float = 0.0  # tracker output holds still while the body does (0 = off; see sensor.SensorConfig)
    jitter: float = 1.0  # white tracker jitter factor (on top of noise)
    grid_px: float = 0.0  # reported positions on a grid of this many px per 1280 px width (OpenPose heatmap; 0 = off)

    def __post_init__(self) -> None:
        if not 0 < self.fps <= MAX_FPS:
            raise DataError(f"fps must be in (0, {MAX_FPS:g}], got {self.fps}", field="fps")
        if not 0 <= self.jitter <= 5:
            raise DataError(f"jitter must be in [0, 5], got {self.jitter}", field="jitter")
        if not 0 <= self.grid_px <= 20:
            raise DataError(f"grid_px must be in [0, 20], got {self.grid_px}", field="grid_px")
        if not 0 <= self.still <= 1:
            raise DataError(f"still must be in [0, 1], got {self.still}", field="still")
        if not (0 <= self.noise <= 10 and 0 < self.amplitude <= 10 and 0 <= self.fidget <= 10):
            raise DataError("noise and fidget must be in [0, 10] and amplitude in (0, 10]", field="config")
        if not 0 < self.min_clip_s <= self.max_clip_s:
            raise DataError(f"need 0 < min_clip_s <= max_clip_s, got {self.min_clip_s}, {self.max_clip_s}")


def resolve_classes(classes: Optional[Sequence[int | str]]) -> list[int]:
    """Raw iMiGUE ids from ids or names (None = every supported class)."""
    if classes is None:
        return supported_raw_ids()
    out: list[int] = []
    for c in classes:
        try:
            raw = IMIGUE.by_raw_id(int(c)).raw_id
        except (ValueError, TypeError):
            try:
                raw = IMIGUE.by_name(str(c)).raw_id
            except KeyError:
                raise DataError(f"unknown iMiGUE class {c!r}", field="classes") from None
        except KeyError:
            raise DataError(f"unknown iMiGUE class id {c!r}", field="classes") from None
        if raw not in MOTIONS:
            raise DataError(
                f"class {raw} ({IMIGUE.by_raw_id(raw).name}) has no synthetic motion; "
                f"supported: {', '.join(map(str, supported_raw_ids()))}",
                field="classes",
            )
        if raw not in out:
            out.append(raw)
    if not out:
        raise DataError("no classes selected", field="classes")
    return out


def _check_seed(seed: int) -> None:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}", field="seed")


def _subjects(seed: int, n_subjects: int, img_shape: tuple[int, int]) -> tuple[Body, Style, Camera]:
    rng = np.random.default_rng([seed, 1])
    return sample_bodies(rng, n_subjects), sample_styles(rng, n_subjects), sample_cameras(rng, n_subjects, img_shape)


def subject_split(
    seed: int, n_subjects: int, val_frac: float = 0.1, test_frac: float = 0.2
) -> dict[str, list[int]]:
    """Disjoint subject ids for train / val / test."""
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and val_frac + test_frac < 1):
        raise DataError("val_frac and test_frac must be in [0, 1) and sum to < 1", field="split")
    perm = np.random.default_rng([seed, 4]).permutation(n_subjects)
    n_test = int(round(n_subjects * test_frac))
    n_val = int(round(n_subjects * val_frac))
    if test_frac > 0 and n_subjects >= 3:
        n_test = max(n_test, 1)
    if val_frac > 0 and n_subjects >= 3:
        n_val = max(n_val, 1)
    return {
        "train": sorted(int(x) for x in perm[n_test + n_val :]),
        "val": sorted(int(x) for x in perm[n_test : n_test + n_val]),
        "test": sorted(int(x) for x in perm[:n_test]),
    }


def _simulate(
    events: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]],
    body: Body,
    style: Style,
    cam: Camera,
    T: int,
    rng: np.random.Generator,
    cfg: GeneratorConfig,
    sensor: SensorConfig,
    mean_rest_s: float,
    seed_key: list[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run idle + gesture events through the rig and the sensor.

    ``events``: (raw id, rows, onset_s, dur_s, window start frame, window length) - all
    rows of one event share the window. Returns image coords, confidences and world joints.
    """
    ctl, rest = idle_controls(rng, body, style, T, cfg.fps, mean_rest_s=mean_rest_s, fidget_scale=cfg.fidget)
    ctxs: list[tuple[Ctx, Any, np.ndarray, int]] = []
    for j, (raw, rows, onset, dur, t0, L) in enumerate(events):
        m = get_motion(raw)
        erng = np.random.default_rng(seed_key + [raw, j])
        sub = ctl.take(rows, t0, t0 + L)
        ctx = Ctx(erng, body.take(rows), style.take(rows), sub, cfg.fps, onset, dur, cfg.amplitude)
        m.sample(ctx)
        m.body(ctx)
        ctl.put(rows, ctx.ctl, t0)
        ctxs.append((ctx, m, rows, t0))
    rest_to_torso(body, ctl, rest)
    for ctx, m, rows, t0 in ctxs:
        L = ctx.L
        ctx.ctl = ctl.take(rows, t0, t0 + L)
        m.hands(ctx)
        ctl.put(rows, ctx.ctl, t0)
    world = rig(body, ctl)
    coords, conf = observe(rng, world, body, cam, ctl, cfg.fps, sensor)
    return coords, conf, world


# ---------------------------------------------------------------------------
# clips
# ---------------------------------------------------------------------------


@dataclass
class ClipSet:
    """Labelled clips, padded to a common length (frames past ``lengths[i]`` are NaN / 0)."""

    coords: np.ndarray  # (N, T, 22, 2) float32, pixels
    confidence: np.ndarray  # (N, T, 22) float32
    lengths: np.ndarray  # (N,) frames
    labels: np.ndarray  # (N,) iMiGUE label id (0-based)
    raw_ids: np.ndarray  # (N,) iMiGUE raw class id
    subjects: np.ndarray  # (N,) subject id
    names: list[str]
    split: dict[str, list[str]]
    fps: float
    layout: str = LAYOUT
    img_shape: tuple[int, int] = (720, 1280)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> SkeletonSequence:
        n = int(self.lengths[i])
        meta = {
            "name": self.names[i],
            "label": int(self.labels[i]),
            "raw_label": int(self.raw_ids[i]),
            "label_name": IMIGUE.by_label_id(int(self.labels[i])).name,
            "subject": int(self.subjects[i]),
            "img_shape": list(self.img_shape),
            "source": "synthetic",
        }
        return SkeletonSequence(self.coords[i, :n].copy(), self.confidence[i, :n].copy(), self.fps, self.layout, meta)

    def sequences(self) -> Iterator[SkeletonSequence]:
        for i in range(len(self)):
            yield self[i]

    def indices(self, split: str) -> np.ndarray:
        if split not in self.split:
            raise DataError(f"no split {split!r}; have {', '.join(self.split)}", field="split")
        wanted = set(self.split[split])
        return np.array([i for i, n in enumerate(self.names) if n in wanted], dtype=np.int64)

    def take(self, indices: Sequence[int] | np.ndarray) -> "ClipSet":
        """A subset (in the given order); splits keep only the chosen clips."""
        idx = np.asarray(indices, dtype=np.int64)
        names = [self.names[i] for i in idx]
        keep = set(names)
        return ClipSet(
            coords=self.coords[idx],
            confidence=self.confidence[idx],
            lengths=self.lengths[idx],
            labels=self.labels[idx],
            raw_ids=self.raw_ids[idx],
            subjects=self.subjects[idx],
            names=names,
            split={k: [n for n in v if n in keep] for k, v in self.split.items()},
            fps=self.fps,
            layout=self.layout,
            img_shape=self.img_shape,
            meta=dict(self.meta),
        )

    def annotations(self) -> list[dict[str, Any]]:
        anns = []
        for i in range(len(self)):
            n = int(self.lengths[i])
            c = self.coords[i, :n]
            k = self.confidence[i, :n]
            valid = (k > 0) & np.all(np.isfinite(c), axis=-1)
            anns.append(
                {
                    "frame_dir": self.names[i],
                    "label": int(self.labels[i]),
                    "total_frames": n,
                    "img_shape": tuple(self.img_shape),
                    "original_shape": tuple(self.img_shape),
                    "keypoint": np.where(valid[..., None], c, 0.0).astype(np.float32)[None],
                    "keypoint_score": np.where(valid, k, 0.0).astype(np.float32)[None],
                    "raw_label": int(self.raw_ids[i]),
                    "subject": int(self.subjects[i]),
                    "layout": self.layout,
                    "fps": float(self.fps),
                }
            )
        return anns

    def write_pyskl(self, path: str | Path) -> Path:
        return write_pyskl(path, self.annotations(), self.split, synth_meta=self.meta)


def generate_clips(
    n_per_class: int = 50,
    *,
    classes: Optional[Sequence[int | str]] = None,
    seed: int = 0,
    n_subjects: int = 40,
    val_frac: float = 0.1,
    test_frac: float = 0.2,
    config: Optional[GeneratorConfig] = None,
) -> ClipSet:
    """``n_per_class`` labelled clips for each class (raw iMiGUE ids or names; default: all supported)."""
    cfg = config or GeneratorConfig()
    _check_seed(seed)
    if not 1 <= n_per_class <= 100_000:
        raise DataError(f"n_per_class must be in [1, 100000], got {n_per_class}", field="n_per_class")
    if not 1 <= n_subjects <= 100_000:
        raise DataError(f"n_subjects must be in [1, 100000], got {n_subjects}", field="n_subjects")
    raws = resolve_classes(classes)
    fps = cfg.fps
    N = n_per_class * len(raws)
    raw_ids = np.repeat(np.array(raws), n_per_class)
    rng = np.random.default_rng([seed, 2])
    bodies, styles, cams = _subjects(seed, n_subjects, cfg.img_shape)
    subjects = rng.integers(0, n_subjects, N)
    body, style = bodies.take(subjects), styles.take(subjects)
    cam = perturb_cameras(rng, cams.take(subjects), cfg.camera_jitter)

    dur = np.empty(N)
    for raw in raws:
        idx = np.flatnonzero(raw_ids == raw)
        dur[idx] = get_motion(raw).sample_duration(np.random.default_rng([seed, 3, raw]), style.take(idx))
    # margins: mostly some idle before/after, sometimes the clip cuts into the gesture
    pre = np.where(rng.random(N) < 0.12, -rng.uniform(0.05, 0.3, N), rng.uniform(0.0, 0.5, N))
    post = np.where(rng.random(N) < 0.12, -rng.uniform(0.05, 0.3, N), rng.uniform(0.0, 0.5, N))
    total = np.clip(pre + dur + post, cfg.min_clip_s, cfg.max_clip_s)
    dur = np.minimum(dur, total - pre.clip(0, None) + 0.3)
    lengths = np.maximum(2, np.round(total * fps).astype(int))
    T = int(lengths.max())
    onset = pre.copy()

    # simulate in chunks of similar length (less padding, bounded memory)
    sensor = SensorConfig(level=cfg.noise, img_shape=cfg.img_shape, still=cfg.still, jitter=cfg.jitter, grid_px=cfg.grid_px)
    coords = np.full((N, T, 22, 2), np.nan, dtype=np.float32)
    conf = np.zeros((N, T, 22), dtype=np.float32)
    order = np.argsort(lengths, kind="stable")
    for ci, start in enumerate(range(0, N, _CHUNK)):
        rows = order[start : start + _CHUNK]
        Tc = int(lengths[rows].max())
        events = []
        for raw in raws:
            local = np.flatnonzero(raw_ids[rows] == raw)
            if local.size:
                events.append((raw, local, onset[rows][local], dur[rows][local], 0, Tc))
        c, k, _ = _simulate(
            events, body.take(rows), style.take(rows), cam.take(rows), Tc,
            np.random.default_rng([seed, 7, ci]), cfg, sensor, 8.0, [seed, 3, ci],
        )  # fmt: skip
        coords[rows, :Tc] = c
        conf[rows, :Tc] = k
    pad = np.arange(T)[None, :] >= lengths[:, None]
    coords[pad] = np.nan
    conf[pad] = 0.0

    split_subj = subject_split(seed, n_subjects, val_frac, test_frac)
    names = [f"synth{seed}_s{int(s):03d}_c{int(r):02d}_{i:06d}" for i, (s, r) in enumerate(zip(subjects, raw_ids))]
    split = {k: [names[i] for i in np.flatnonzero(np.isin(subjects, v))] for k, v in split_subj.items()}
    labels = np.array([IMIGUE.by_raw_id(int(r)).label_id for r in raw_ids], dtype=np.int64)
    meta = {
        "generator": "mgreason.synth",
        "seed": seed,
        "n_per_class": n_per_class,
        "n_subjects": n_subjects,
        "classes": raws,
        "split_subjects": split_subj,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
    }
    return ClipSet(
        coords=coords,
        confidence=conf,
        lengths=lengths,
        labels=labels,
        raw_ids=raw_ids.astype(np.int64),
        subjects=subjects.astype(np.int64),
        names=names,
        split=split,
        fps=fps,
        img_shape=tuple(cfg.img_shape),
        meta=meta,
    )


# ---------------------------------------------------------------------------
# sessions
# ---------------------------------------------------------------------------


@dataclass
class Session:
    sequence: SkeletonSequence
    transcript: Transcript

    def write(self, directory: str | Path, name: Optional[str] = None) -> tuple[Path, Path]:
        """``<name>.npz`` (skeleton) and ``<name>.transcript.json`` (ground truth)."""
        directory = Path(directory)
        name = name or self.transcript.id
        seq_path = directory / f"{name}.npz"
        tr_path = directory / f"{name}.transcript.json"
        self.sequence.save(seq_path)
        self.transcript.write(tr_path)
        return seq_path, tr_path


def _class_weights(raws: list[int], class_weights: str | dict[int, float]) -> np.ndarray:
    if isinstance(class_weights, dict):
        w = np.array([float(class_weights.get(r, 0.0)) for r in raws])
    elif class_weights == "uniform":
        w = np.ones(len(raws))
    elif class_weights == "imigue":
        w = np.array([float(IMIGUE_CLASS_COUNTS.get(r, 1)) for r in raws]) ** 0.7  # flattened long tail
    else:
        raise DataError(f"class_weights must be 'uniform', 'imigue' or a dict, got {class_weights!r}")
    if not np.all(np.isfinite(w)) or w.sum() <= 0 or np.any(w < 0):
        raise DataError("class weights must be non-negative and not all zero", field="class_weights")
    return w / w.sum()


def generate_session(
    minutes: float = 5.0,
    *,
    seed: int = 0,
    subject: Optional[int] = None,
    n_subjects: int = 40,
    classes: Optional[Sequence[int | str]] = None,
    rate_per_min: float = 6.0,
    class_weights: str | dict[int, float] = "imigue",
    camera_cuts_s: float = 0.0,
    config: Optional[GeneratorConfig] = None,
    id: Optional[str] = None,
) -> Session:
    """A long recording of one seated person with gestures at known times.

    ``subject``: a subject of the ``(seed, n_subjects)`` table used by
    :func:`generate_clips` (so a session can show a held-out test subject), or None
    for a person of its own. ``rate_per_min``: mean number of gestures per minute.
    ``camera_cuts_s``: mean seconds between camera cuts (0 = a fixed camera).
    """
    cfg = config or GeneratorConfig()
    _check_seed(seed)
    if not (0 < minutes <= MAX_SESSION_MINUTES):
        raise DataError(f"minutes must be in (0, {MAX_SESSION_MINUTES:g}], got {minutes}", field="minutes")
    if minutes * 60 * cfg.fps > MAX_SESSION_FRAMES:
        raise DataError(
            f"{minutes:g} minutes at {cfg.fps:g} fps is more than {MAX_SESSION_FRAMES:,} frames; "
            "generate shorter sessions (--count for more of them)",
            field="minutes",
        )
    if not 0 < rate_per_min <= 120:
        raise DataError(f"rate_per_min must be in (0, 120], got {rate_per_min}", field="rate_per_min")
    if not 0 <= camera_cuts_s <= 1e6:
        raise DataError(f"camera_cuts_s must be in [0, 1e6] seconds, got {camera_cuts_s}", field="camera_cuts_s")
    raws = resolve_classes(classes)
    weights = _class_weights(raws, class_weights)
    fps = cfg.fps
    T = max(2, int(round(minutes * 60 * fps)))
    total_s = T / fps
    rng = np.random.default_rng([seed, 5, 0 if subject is None else subject + 1])
    if subject is None:
        body, style, cam = sample_bodies(rng, 1), sample_styles(rng, 1), sample_cameras(rng, 1, cfg.img_shape)
    else:
        if not 0 <= subject < n_subjects:
            raise DataError(f"subject must be in 0..{n_subjects - 1}, got {subject}", field="subject")
        bodies, styles, cams = _subjects(seed, n_subjects, cfg.img_shape)
        sel = np.array([subject])
        body, style, cam = bodies.take(sel), styles.take(sel), cams.take(sel)

    # schedule: non-overlapping gestures with exponential gaps
    margin = 0.5
    events = []
    schedule = []
    t = rng.uniform(1.0, 4.0)
    mean_dur = 2.2
    mean_gap = max(0.5, 60.0 / rate_per_min - mean_dur)
    one = np.zeros(1, dtype=np.int64)
    while True:
        raw = int(raws[rng.choice(len(raws), p=weights)])
        d = float(get_motion(raw).sample_duration(rng, style)[0])
        if t + d + margin > total_s:
            break
        a = int(np.floor((t - margin) * fps))
        b = min(T, int(np.ceil((t + d + margin) * fps)))
        a = max(0, a)
        events.append((raw, one, np.array([t - a / fps]), np.array([d]), a, b - a))
        schedule.append((raw, t, d))
        t += d + rng.exponential(mean_gap) + 2 * margin + 0.2
    sensor = SensorConfig(level=cfg.noise, img_shape=cfg.img_shape, cut_every_s=camera_cuts_s, still=cfg.still, jitter=cfg.jitter, grid_px=cfg.grid_px)
    coords, conf, _ = _simulate(events, body, style, cam, T, rng, cfg, sensor, 12.0, [seed, 6])

    sid = id or (f"synth_session_{seed}" + ("" if subject is None else f"_s{subject:03d}"))
    meta = {
        "source": "synthetic",
        "seed": seed,
        "subject": subject,
        "img_shape": list(cfg.img_shape),
        "events": len(schedule),
    }
    seq = SkeletonSequence(coords[0], conf[0], fps, LAYOUT, meta)
    evs = [
        MGEvent(
            start_s=round(s, 4),
            end_s=round(min(s + d, total_s), 4),
            label=IMIGUE.by_raw_id(r).name,
            label_id=IMIGUE.by_raw_id(r).label_id,
            confidence=1.0,
            source="synthetic",
        )
        for r, s, d in schedule
    ]
    tr = Transcript(id=sid, fps=fps, duration_s=total_s, layout=LAYOUT, taxonomy="imigue", events=evs)
    return Session(seq, tr)


def with_config(cfg: Optional[GeneratorConfig], **changes: Any) -> GeneratorConfig:
    """A copy of ``cfg`` (or the defaults) with some fields changed."""
    return replace(cfg or GeneratorConfig(), **changes)
