"""Training data: synthetic clips from :mod:`mgreason.synth`, or real data (PYSKL pickle, ST-GCN npy, a MiGA
iMiGUE or SMG release folder, one OpenPose JSON directory with the iMiGUE labels CSV).

Everything is turned into prepared :class:`~mgreason.recognizer.augment.Clip` records (mapped to the
model layout, resampled to the model fps, normalised, gaps filled) once; :class:`ClipDataset` then
applies the augmentations, samples ``clip_len`` frames and builds the input streams per item.

Splits:

* synthetic: the generator's subject split (the held-out subjects never appear in training);
* PYSKL / ST-GCN files: the file's own ``train``/``test`` split when present, else the official
  **iMiGUE cross-subject split** (37 train / 35 test subjects, from the dataset's evaluation protocol)
  when every clip's subject is known (``subject`` key in the annotations, or ``data.labels_csv`` =
  the iMiGUE ``labels_20200831.csv`` mapping the video id at the start of ``frame_dir`` to its
  subject), else a seeded random split (by subject when subjects are known).
* release folders (MiGA iMiGUE, SMG) and OpenPose directories are long recordings: every annotation is a
  clip, ``data.background`` adds windows between annotations as a background class; the iMiGUE
  cross-subject split (``data.splits_json`` or the built-in copy; subjects from ``data.labels_csv``) by
  default, or ``data.time_split`` to split one recording by time (fit on one span, check on another).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from mgreason.errors import DataError
from mgreason.recognizer.augment import Clip, Compose
from mgreason.recognizer.config import DataConfig, SynthDataConfig, TrainConfig
from mgreason.recognizer.preprocessing import build_streams, prepare_sequence, uniform_indices
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = [
    "DataBundle",
    "ClipDataset",
    "load_data",
    "synth_data",
    "real_data",
    "IMIGUE_XSUB",
    "BACKGROUND",
    "idle_windows",
    "detect_source",
    "Recording",
    "read_recordings",
    "recordings_data",
]

BACKGROUND = "background"

# iMiGUE evaluation protocol, MG recognition, cross-subject: 37 train / 35 test subjects
IMIGUE_XSUB = {
    "train": [2, 4, 5, 6, 9, 10, 12, 13, 14, 15, 17, 18, 20, 21, 22, 23, 25, 28, 29, 30, 31, 35, 36, 38, 39, 41,
              42, 43, 44, 46, 47, 48, 52, 53, 59, 61, 62],
    "test": [1, 3, 7, 8, 11, 16, 19, 24, 26, 27, 32, 33, 34, 37, 40, 45, 49, 50, 51, 54, 55, 56, 57, 58, 60, 63,
             64, 65, 66, 67, 68, 69, 70, 71, 72],
}  # fmt: skip


@dataclass
class DataBundle:
    train: list[Clip]
    test: list[Clip]
    labels: list[str]
    coord_channels: int
    description: dict[str, Any] = field(default_factory=dict)
    val: list[Clip] = field(default_factory=list)  # picks the best epoch when not empty
    # long validation recordings with their ground truth (time-split real data): segmentation tuning
    val_recordings: list[tuple[SkeletonSequence, Any]] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.labels)


class ClipDataset(torch.utils.data.Dataset):
    """Prepared clips -> ``(x (C, clip_len, V) float32, label)``; augmentation only when ``train``."""

    def __init__(
        self,
        clips: Sequence[Clip],
        layout: str,
        clip_len: int,
        streams: Sequence[str],
        use_confidence: bool,
        temporal: Optional[Compose] = None,
        spatial: Optional[Compose] = None,
        train: bool = False,
        random_sampling: bool = True,
        seed: int = 0,
    ):
        self.clips = list(clips)
        self.layout = layout
        self.clip_len = clip_len
        self.streams = list(streams)
        self.use_confidence = use_confidence
        self.temporal = temporal
        self.spatial = spatial
        self.train = train
        self.random_sampling = random_sampling
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def sample(self, i: int) -> Clip:
        """The i-th clip after augmentation and frame sampling (before stream building)."""
        clip = self.clips[i]
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        if self.train and self.temporal is not None:
            clip = self.temporal(clip, rng)
        idx = uniform_indices(clip.num_frames, self.clip_len, rng if (self.train and self.random_sampling) else None)
        clip = clip.with_(coords=clip.coords[idx], conf=clip.conf[idx])
        if self.train and self.spatial is not None:
            clip = self.spatial(clip, rng)
        return clip

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        clip = self.sample(i)
        x = build_streams(clip.coords, clip.conf, self.layout, self.streams, self.use_confidence)
        return torch.from_numpy(x), int(clip.label)

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.label for c in self.clips], dtype=np.int64)


# --------------------------------------------------------------------------- helpers
def _prepare(seq: SkeletonSequence, label: int, data: DataConfig, meta: dict[str, Any]) -> Clip:
    s = prepare_sequence(seq, data.layout, data.fps, data.min_confidence)
    return Clip(s.coords, s.confidence, int(label), meta)


def _subsample(clips: list[Clip], n: Optional[int], seed: int) -> list[Clip]:
    if n is None or len(clips) <= n:
        return clips
    idx = np.sort(np.random.default_rng([seed, 99]).choice(len(clips), n, replace=False))
    return [clips[i] for i in idx]


def load_data(cfg: TrainConfig) -> DataBundle:
    d = cfg.data
    if d.source == "synth":
        bundle = synth_data(d, cfg.seed)
    else:
        bundle = real_data(d, cfg.seed)
    if d.source != "synth" and d.repeat_train > 1:
        bundle.train = [c for c in bundle.train for _ in range(d.repeat_train)]
    if d.source != "synth" and d.mix_synth is not None:
        _mix_synth(bundle, d, cfg.seed)
    bundle.train = _subsample(bundle.train, d.max_clips, cfg.seed)
    bundle.test = _subsample(bundle.test, d.max_clips, cfg.seed + 1)
    bundle.val = _subsample(bundle.val, d.max_clips, cfg.seed + 2)
    if not bundle.train:
        raise DataError("the training split is empty", field="data")
    if not bundle.test:
        raise DataError("the test split is empty", field="data")
    bundle.description.update(n_train=len(bundle.train), n_val=len(bundle.val), n_test=len(bundle.test))
    return bundle


def _mix_synth(bundle: DataBundle, d: DataConfig, seed: int) -> None:
    """Add the training clips of a synthetic set to real training data (labels matched by name)."""
    if bundle.coord_channels != 2:
        raise DataError("data.mix_synth needs 2D real data (the generator makes 2D skeletons)", field="data.mix_synth")
    sd = d.model_copy(update={"source": "synth", "synth": d.mix_synth})
    sb = synth_data(sd, seed)
    pos = {n: i for i, n in enumerate(bundle.labels)}
    added = 0
    for c in sb.train:
        name = sb.labels[c.label]
        if name in pos:
            bundle.train.append(c.with_(label=pos[name], meta=dict(c.meta, synthetic=True)))
            added += 1
    bundle.description["mix_synth"] = {"clips": added, **{k: v for k, v in sb.description.items() if k in (
        "seed", "subjects", "clips_per_class", "background_clips", "noise", "still", "jitter")}}  # fmt: skip


# --------------------------------------------------------------------------- synthetic
def idle_windows(
    num_frames: int, events: Sequence[tuple[float, float]], fps: float, length_s: tuple[float, float],
    rng: np.random.Generator, margin_s: float = 0.6, max_per_gap: int = 3,
) -> list[tuple[int, int]]:  # fmt: skip
    """Non-overlapping frame windows that stay ``margin_s`` away from every event."""
    bounds = [(0.0, 0.0)] + sorted((float(a), float(b)) for a, b in events) + [(num_frames / fps, num_frames / fps)]
    out = []
    for (_, prev_end), (next_start, _) in zip(bounds[:-1], bounds[1:]):
        a = prev_end + (margin_s if prev_end > 0 else 0.0)
        b = next_start - (margin_s if next_start < num_frames / fps else 0.0)
        t = a
        for _ in range(max_per_gap):
            L = rng.uniform(*length_s)
            if t + L > b:
                break
            s = t + rng.uniform(0, min(1.0, b - t - L))
            out.append((int(round(s * fps)), int(round((s + L) * fps))))
            t = s + L
    return out


def synth_data(data: DataConfig, seed: int = 0) -> DataBundle:
    """Clips of the synthetic generator, subject-disjoint train/test, plus an idle/background class."""
    from mgreason.synth import GeneratorConfig, generate_clips, generate_session
    from mgreason.taxonomy import IMIGUE

    sc: SynthDataConfig = data.synth
    gcfg = GeneratorConfig(fps=data.fps, noise=sc.noise, amplitude=sc.amplitude, still=sc.still, jitter=sc.jitter,
                           grid_px=sc.grid_px)
    cs = generate_clips(
        sc.clips_per_class,
        classes=sc.classes,
        seed=sc.seed,
        n_subjects=sc.subjects,
        val_frac=sc.val_subjects / sc.subjects,
        test_frac=sc.test_subjects / sc.subjects,
        config=gcfg,
    )
    raws = sorted(cs.meta["classes"], key=lambda r: IMIGUE.by_raw_id(r).label_id)
    labels = [IMIGUE.by_raw_id(r).name for r in raws]
    remap = {IMIGUE.by_raw_id(r).label_id: i for i, r in enumerate(raws)}
    test_subjects = set(cs.meta["split_subjects"]["test"])
    val_subjects = set(cs.meta["split_subjects"]["val"])
    train, val, test = [], [], []

    def bucket(subj: int) -> list[Clip]:
        return test if subj in test_subjects else val if subj in val_subjects else train

    for i in range(len(cs)):
        seq = cs[i]
        subj = int(cs.subjects[i])
        clip = _prepare(seq, remap[int(cs.labels[i])], data, {"subject": subj, "name": cs.names[i]})
        bucket(subj).append(clip)
    n_bg = 0
    if sc.background:
        labels.append(BACKGROUND)
        bg_label = len(labels) - 1
        total = sc.background_clips or sc.clips_per_class
        per_subject = max(1, math.ceil(total / sc.subjects))
        length_s = (max(gcfg.min_clip_s, 1.0), min(gcfg.max_clip_s, 4.0))
        for subj in range(sc.subjects):
            rng = np.random.default_rng([sc.seed, 77, subj])
            # ~1 gesture a minute; windows of 1-4 s (+ up to 1 s spacing) fill the gaps: 1.5x margin
            minutes = max(0.5, 1.5 * per_subject * (sum(length_s) / 2 + 0.5) / 60 / 0.85)
            sess = generate_session(
                minutes, seed=sc.seed, subject=subj, n_subjects=sc.subjects, classes=sc.classes,
                rate_per_min=1.0, config=gcfg, id=f"bg_{subj}",
            )  # fmt: skip
            seq = sess.sequence
            events = [(e.start_s, e.end_s) for e in sess.transcript.events]
            wins = idle_windows(seq.num_frames, events, seq.fps, length_s, rng, max_per_gap=1000)
            if len(wins) > per_subject:
                wins = [wins[k] for k in sorted(rng.choice(len(wins), per_subject, replace=False))]
            for k, (a, b) in enumerate(wins):
                clip = _prepare(seq[a:b], bg_label, data, {"subject": subj, "name": f"bg{sc.seed}_s{subj:03d}_{k:03d}"})
                bucket(subj).append(clip)
                n_bg += 1
    desc = {
        "source": "synth",
        "generator": "mgreason.synth.generate_clips + generate_session (idle windows)",
        "seed": sc.seed,
        "subjects": sc.subjects,
        "test_subjects": sorted(test_subjects),
        "val_subjects": sorted(val_subjects),
        "clips_per_class": sc.clips_per_class,
        "background_clips": n_bg,
        "noise": sc.noise,
        "amplitude": sc.amplitude,
        "still": sc.still,
        "jitter": sc.jitter,
        "grid_px": sc.grid_px,
        "classes": labels,
        "imigue_raw_ids": [int(r) for r in raws] + ([None] if sc.background else []),
        "split": "held-out synthetic subjects",
    }
    return DataBundle(train, test, labels, 2, desc, val)


# --------------------------------------------------------------------------- real data
_VIDEO_RE = re.compile(r"^\D*(\d+)")


def _video_id(frame_dir: str) -> Optional[int]:
    m = _VIDEO_RE.match(str(frame_dir))
    return int(m.group(1)) if m else None


def _imigue_videos(labels_csv: Path) -> list[Any]:
    from mgreason.datasets.imigue_labels import read_imigue_videos

    if not Path(labels_csv).is_file():
        raise DataError("iMiGUE label CSV not found (set data.labels_csv to your copy of labels_20200831.csv)",
                        file=labels_csv, field="data.labels_csv")  # fmt: skip
    return read_imigue_videos(labels_csv)


def _subject_map(labels_csv: Optional[Path]) -> dict[int, int]:
    if labels_csv is None:
        return {}
    return {v.video_id: v.subject_id for v in _imigue_videos(labels_csv)}


def _label_names(taxonomy: str, max_label: int) -> list[str]:
    from mgreason.taxonomy import get_taxonomy

    try:
        names = list(get_taxonomy(taxonomy).names)
    except KeyError as e:
        raise DataError(str(e.args[0]), field="data.taxonomy") from None
    if max_label >= len(names):
        names += [f"class_{k}" for k in range(len(names), max_label + 1)]
    return names


def _assign_split(
    names: list[str], subjects: list[Optional[int]], file_split: dict[str, list[str]], data: DataConfig, seed: int,
    where: str,
) -> tuple[list[int], list[int], list[int], str]:  # fmt: skip
    mode = data.split
    has_file = data.train_split in file_split and data.test_split in file_split
    if mode == "file" or (mode == "auto" and has_file):
        if not has_file:
            raise DataError(
                f"the file has no {data.train_split!r}/{data.test_split!r} split (has: {', '.join(file_split) or 'none'})",
                file=where, field="data.split",
            )  # fmt: skip
        pos = {n: i for i, n in enumerate(names)}
        tr = [pos[n] for n in file_split[data.train_split] if n in pos]
        te = [pos[n] for n in file_split[data.test_split] if n in pos]
        va = []
        if data.val_split and data.val_split in file_split and data.val_split not in (data.train_split, data.test_split):
            va = [pos[n] for n in file_split[data.val_split] if n in pos]
        return tr, te, va, f"file:{data.train_split}/{data.test_split}" + (f" (val: {data.val_split})" if va else "")
    known = all(s is not None for s in subjects)
    if mode == "imigue_xsub" or (mode == "auto" and known):
        if not known:
            missing = sum(s is None for s in subjects)
            raise DataError(
                f"{missing} clip(s) have no subject; add a 'subject' key to the annotations or set data.labels_csv "
                "to the iMiGUE labels_20200831.csv", file=where, field="data.split",
            )  # fmt: skip
        protocol, _ = _protocol_subjects(data)
        tr_s, te_s = set(protocol["train"]), set(protocol["test"])
        unknown = sorted({int(s) for s in subjects if s not in tr_s and s not in te_s})  # type: ignore[arg-type]
        if unknown:
            raise DataError(
                f"subject id(s) {unknown[:5]} are not in the iMiGUE cross-subject protocol (1..72)",
                file=where, field="data.split",
            )  # fmt: skip
        tr = [i for i, s in enumerate(subjects) if s in tr_s]
        te = [i for i, s in enumerate(subjects) if s in te_s]
        return tr, te, [], "imigue_xsub"
    # random (by subject when known)
    rng = np.random.default_rng([seed, 5])
    if known:
        subs = sorted({int(s) for s in subjects})  # type: ignore[arg-type]
        k = max(1, round(0.2 * len(subs)))
        test_s = set(rng.choice(subs, k, replace=False).tolist())
        te = [i for i, s in enumerate(subjects) if s in test_s]
        tr = [i for i, s in enumerate(subjects) if s not in test_s]
        return tr, te, [], "random-subject"
    perm = rng.permutation(len(names))
    k = max(1, int(round(0.2 * len(names))))
    return sorted(perm[k:].tolist()), sorted(perm[:k].tolist()), [], "random-clip"


def detect_source(path: Path) -> str:
    """The data source of ``path`` for ``source: auto``."""
    from mgreason.skeleton.io_miga import is_miga_release
    from mgreason.skeleton.io_smg import is_smg_release

    if path.is_file():
        if path.suffix.lower() in (".pkl", ".pickle"):
            return "pyskl"
        if path.name.endswith("_data.npy"):
            return "stgcn"
        raise DataError("cannot tell the data format of this file (expected a PYSKL .pkl)", file=path, field="data.path")
    if path.is_dir():
        if any(path.glob("*_data.npy")):
            return "stgcn"
        if any(path.glob("*_keypoints.json")):
            return "openpose"
        if is_smg_release(path):
            return "smg"
        if is_miga_release(path):
            return "miga"
        raise DataError(
            "not a recognised dataset folder (MiGA <vid>/<vid>_openpose.xlsx|_light_hand.csv + _label.csv, "
            "SMG SampleNNNN/, ST-GCN *_data.npy or OpenPose *_keypoints.json)",
            file=path, field="data.path",
        )  # fmt: skip
    if path.parent.is_dir() and any(path.parent.glob(f"{path.name}*_data.npy")):
        return "stgcn"  # a prefix
    raise DataError("data path not found", file=path, field="data.path")


def _protocol_subjects(data: DataConfig) -> tuple[dict[str, list[int]], str]:
    """The iMiGUE cross-subject protocol: from ``data.splits_json`` when given, else the built-in copy."""
    if data.splits_json is None:
        return IMIGUE_XSUB, "built-in copy of the iMiGUE protocol"
    import json

    p = Path(data.splits_json)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))["mg_recognition_subject_split"]
        out = {"train": [int(x) for x in d["train"]], "test": [int(x) for x in d["test"]]}
    except FileNotFoundError:
        raise DataError("splits file not found (set data.splits_json to the iMiGUE splits.json, or null)", file=p,
                        field="data.splits_json") from None  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"no usable mg_recognition_subject_split: {type(e).__name__}: {e}", file=p,
                        field="data.splits_json") from None  # fmt: skip
    return out, str(p)


@dataclass
class Recording:
    """One long labelled recording (a MiGA video, an SMG sample, an OpenPose directory)."""

    name: str
    sequence: SkeletonSequence
    transcript: Any  # mgreason.transcript.Transcript
    subject: Optional[int]


def read_recordings(data: DataConfig, source: str, path: Path) -> tuple[list[Recording], str]:
    """Recordings of a release folder (or one OpenPose directory) and the taxonomy of their labels."""
    if source == "miga":
        from mgreason.skeleton.io_miga import read_miga_release

        subj_map = _subject_map(data.labels_csv)
        recs = []
        for v in read_miga_release(path, fps=data.fps):
            recs.append(Recording(v.video_id, v.sequence, v.transcript, subj_map.get(v.video_number)))
        return recs, "imigue"
    if source == "smg":
        from mgreason.skeleton.io_smg import read_smg_release

        return [
            Recording(s.sample_id, s.sequence, s.transcript, s.subject)
            for s in read_smg_release(path, coords=data.smg_coords)
        ], "smg"
    if source == "openpose":
        from mgreason.skeleton.io_openpose import read_openpose_dir

        seq = read_openpose_dir(path, fps=data.fps)
        vid = data.video_id
        if vid is None:
            first = next(iter(sorted(path.glob("*_keypoints.json"))), None)
            vid = _video_id(first.name) if first is not None else None
        if vid is None:
            raise DataError("set data.video_id (the iMiGUE video of this OpenPose directory)", file=path,
                            field="data.video_id")  # fmt: skip
        if data.labels_csv is None:
            raise DataError("an OpenPose directory needs data.labels_csv (the iMiGUE labels_20200831.csv)",
                            file=path, field="data.labels_csv")  # fmt: skip
        videos = {v.video_id: v for v in _imigue_videos(data.labels_csv)}
        if vid not in videos:
            raise DataError(f"video {vid} has no annotation", file=data.labels_csv, field="data.video_id")
        v = videos[vid]
        # only the annotations inside the recording (the skeleton may hold part of the video)
        events = [e for e in v.transcript.events if e.end_s <= seq.duration_s + 1e-6]
        t = v.transcript.model_copy(update={"events": events})
        return [Recording(str(vid), seq, t, v.subject_id)], "imigue"
    raise DataError(f"unknown recording source {source!r}", field="data.source")  # pragma: no cover


def _span_of(a: float, b: float, spans: dict[str, Optional[tuple[float, float]]]) -> Optional[str]:
    for name, sp in spans.items():
        if sp is not None and sp[0] - 1e-6 <= a and b <= sp[1] + 1e-6:
            return name
    return None


def recordings_data(data: DataConfig, recs: list[Recording], taxonomy: str, seed: int, where: str) -> DataBundle:
    """Annotated events -> clips (+ background windows between them), split by subject or by time."""
    from mgreason.taxonomy import get_taxonomy

    tax = get_taxonomy(taxonomy)
    labels = list(tax.names)
    use_bg = data.background.per_minute > 0
    if use_bg:
        labels.append(BACKGROUND)
    # --- which recording / which time span goes where
    protocol, protocol_src = _protocol_subjects(data)
    rec_split: dict[int, str] = {}
    ts = data.time_split
    if ts is not None:
        split_desc = f"time: train {list(ts.train)} s, val {list(ts.val) if ts.val else None}, test " + (
            f"{list(ts.test)} s" if ts.test else "= val"
        )
    else:
        known = all(r.subject is not None for r in recs)
        mode = data.split
        if mode == "file":
            raise DataError("a release folder has no file split; use imigue_xsub, random or data.time_split",
                            file=where, field="data.split")  # fmt: skip
        if taxonomy == "imigue" and (mode == "imigue_xsub" or (mode == "auto" and known)):
            if not known:
                miss = [r.name for r in recs if r.subject is None][:5]
                raise DataError(
                    f"no subject for video(s) {miss}: set data.labels_csv to the iMiGUE labels_20200831.csv "
                    "(it maps videos to subjects), or --set data.split=random", file=where, field="data.labels_csv",
                )  # fmt: skip
            tr_s, te_s = set(protocol["train"]), set(protocol["test"])
            for i, r in enumerate(recs):
                rec_split[i] = "train" if r.subject in tr_s else "test" if r.subject in te_s else "unused"
            split_desc = f"imigue_xsub ({protocol_src})"
        else:
            rng = np.random.default_rng([seed, 5])
            groups = sorted({(r.subject if r.subject is not None else r.name) for r in recs}, key=str)
            k = max(1, round(0.2 * len(groups)))
            test_g = set(rng.choice(len(groups), k, replace=False).tolist()) if len(groups) > 1 else set()
            test_names = {groups[i] for i in test_g}
            for i, r in enumerate(recs):
                g = r.subject if r.subject is not None else r.name
                rec_split[i] = "test" if g in test_names else "train"
            split_desc = "random-subject" if known else "random-recording"
    buckets: dict[str, list[Clip]] = {"train": [], "val": [], "test": []}
    n_bg = 0
    dropped = 0
    for i, r in enumerate(recs):
        seq, fps = r.sequence, r.sequence.fps
        events = list(r.transcript.events) if r.transcript is not None else []
        if ts is not None:
            spans = {"train": ts.train, "val": ts.val, "test": ts.test or ts.val}
        else:
            spans = {rec_split.get(i, "unused"): (0.0, seq.duration_s + 1.0)}
        for k, e in enumerate(events):
            name = _span_of(e.start_s, e.end_s, spans)
            a, b = int(round(e.start_s * fps)), int(round(e.end_s * fps))
            if name is None or name == "unused" or b - a < 2:
                dropped += 1
                continue
            clip = _prepare(seq[a:b], labels.index(e.label), data,
                            {"subject": r.subject, "name": f"{r.name}/{k:04d}", "start_s": e.start_s})  # fmt: skip
            for n in ([name] if not (ts is not None and ts.test is None and name == "val") else ["val", "test"]):
                buckets[n].append(clip)
        if use_bg:
            bg = data.background
            rng = np.random.default_rng([seed, 78, i])
            wins = idle_windows(seq.num_frames, [(e.start_s, e.end_s) for e in events], fps, (bg.min_s, bg.max_s), rng,
                                margin_s=bg.margin_s, max_per_gap=1000)  # fmt: skip
            want = max(1, int(round(bg.per_minute * seq.duration_s / 60)))
            if len(wins) > want:
                wins = [wins[j] for j in sorted(rng.choice(len(wins), want, replace=False))]
            for j, (a, b) in enumerate(wins):
                name = _span_of(a / fps, b / fps, spans)
                if name is None or name == "unused":
                    continue
                clip = _prepare(seq[a:b], labels.index(BACKGROUND), data,
                                {"subject": r.subject, "name": f"{r.name}/bg{j:04d}", "start_s": a / fps})  # fmt: skip
                for n in ([name] if not (ts is not None and ts.test is None and name == "val") else ["val", "test"]):
                    buckets[n].append(clip)
                n_bg += 1
    val_recs = []
    if ts is not None and ts.val is not None:
        for r in recs:
            a, b = ts.val
            gt_events = [e for e in (r.transcript.events if r.transcript is not None else [])
                         if a - 1e-6 <= e.start_s and e.end_s <= b + 1e-6]  # fmt: skip
            if r.transcript is not None:
                val_recs.append((r.sequence.slice_time(a, b), r.transcript.model_copy(update={"events": gt_events})))
    coord_channels = int(recs[0].sequence.num_channels)
    desc = {
        "source": data.source,
        "path": where,
        "recordings": [r.name for r in recs],
        "split": split_desc,
        "taxonomy": taxonomy,
        "classes": labels,
        "background_clips": n_bg,
        "events_left_out": dropped,
        "subjects_train": sorted({r.subject for i, r in enumerate(recs) if r.subject is not None and rec_split.get(i) == "train"}),
        "subjects_test": sorted({r.subject for i, r in enumerate(recs) if r.subject is not None and rec_split.get(i) == "test"}),
    }
    return DataBundle(buckets["train"], buckets["test"], labels, coord_channels, desc, buckets["val"], val_recs)


def real_data(data: DataConfig, seed: int = 0) -> DataBundle:
    """PYSKL pickle, ST-GCN arrays, a MiGA/SMG release folder or an OpenPose directory -> prepared clips."""
    if data.path is None:
        raise DataError(f"data.path is required for source {data.source!r}", field="data.path")
    path = Path(data.path)
    source = detect_source(path) if data.source == "auto" else data.source
    if source in ("miga", "smg", "openpose"):
        recs, taxonomy = read_recordings(data, source, path)
        bundle = recordings_data(data, recs, taxonomy, seed, str(path))
        bundle.description["source"] = source
        return bundle
    if data.time_split is not None:
        raise DataError("data.time_split needs long recordings (miga, smg or openpose source)", field="data.time_split")
    data = data.model_copy(update={"source": source})
    subj_map = _subject_map(data.labels_csv)
    seqs: list[SkeletonSequence] = []
    labels: list[int] = []
    names: list[str] = []
    subjects: list[Optional[int]] = []
    file_split: dict[str, list[str]] = {}
    if data.source == "pyskl":
        from mgreason.skeleton.io_pyskl import annotation_to_sequence, read_pyskl

        if not path.is_file():
            raise DataError("PYSKL pickle not found", file=path, field="data.path")
        anns, file_split = read_pyskl(path)
        for a in anns:
            fps = a.get("fps") or data.fps
            seqs.append(annotation_to_sequence(a, layout=data.source_layout or a.get("layout"), fps=fps))
            labels.append(int(a["label"]))
            names.append(str(a["frame_dir"]))
            s = a.get("subject")
            if s is None:
                vid = _video_id(a["frame_dir"])
                s = subj_map.get(vid) if vid is not None else None
            subjects.append(int(s) if s is not None else None)
    elif data.source == "stgcn":
        from mgreason.skeleton.io_stgcn import read_stgcn

        base = path if path.is_dir() else path.parent
        prefix = "" if path.is_dir() else path.name
        splits = [data.train_split, data.test_split]
        if data.val_split and (base / f"{prefix}{data.val_split}_data.npy").is_file():
            splits.append(data.val_split)
        for split in splits:
            dp = base / f"{prefix}{split}_data.npy"
            lp = base / f"{prefix}{split}_label.pkl"
            if not dp.is_file():
                raise DataError(f"missing {dp.name}", file=base, field="data.path")
            samples = read_stgcn(dp, lp if lp.is_file() else None, layout=data.source_layout or data.layout, fps=data.fps)
            file_split[split] = []
            for smp in samples:
                name = f"{split}/{smp.name}"
                seqs.append(smp.sequence)
                labels.append(int(smp.label))
                names.append(name)
                vid = _video_id(smp.name)
                subjects.append(subj_map.get(vid) if vid is not None else None)
                file_split[split].append(name)
    else:  # pragma: no cover - guarded by the config schema
        raise DataError(f"unknown data source {data.source!r}", field="data.source")
    if not seqs:
        raise DataError("no clips in the data file", file=path)
    if min(labels) < 0:
        raise DataError("clips without labels (label -1) cannot be used for training", file=path, field="label")
    label_names = _label_names(data.taxonomy, max(labels))
    tr, te, va, split_desc = _assign_split(names, subjects, file_split, data, seed, str(path))
    clips = {}
    for i in sorted(set(tr) | set(te) | set(va)):
        clips[i] = _prepare(seqs[i], labels[i], data, {"subject": subjects[i], "name": names[i]})
    coord_channels = int(next(iter(clips.values())).coords.shape[-1])
    desc = {
        "source": data.source,
        "path": str(path),
        "split": split_desc,
        "taxonomy": data.taxonomy,
        "classes": label_names,
        "subjects_train": sorted({s for i in tr if (s := subjects[i]) is not None}),
        "subjects_test": sorted({s for i in te if (s := subjects[i]) is not None}),
    }
    return DataBundle(
        [clips[i] for i in tr], [clips[i] for i in te], label_names, coord_channels, desc, [clips[i] for i in va]
    )
