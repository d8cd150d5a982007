"""Everything ``mgreason transcribe`` accepts, read into one :class:`SkeletonSequence`.

========================  =====================================================================
input                     how it is read
========================  =====================================================================
directory                 OpenPose output (``*_keypoints.json``, one file per frame), all 137
                          keypoints; ``--fps`` (default 25)
``.npz``                  a saved :class:`SkeletonSequence` (``coords``, ``confidence``, ``fps``,
                          ``layout``), or any npz holding one keypoint array (``keypoint``,
                          ``keypoints``, ``skeleton``, ``data`` or the only array) plus optional
                          ``keypoint_score`` / ``confidence``, ``fps``, ``layout``
``.npy``                  a keypoint array ``(T, V, C)`` or ``(M, T, V, C)`` (``--person``); C is
                          the layout's coordinate count, plus one for a confidence channel
``.pkl`` / ``.pickle``    a PYSKL pickle; ``--entry`` picks the annotation (``frame_dir`` or index)
video (``.mp4``, ...)     MediaPipe pose + hands (optional ``video`` extra), see :mod:`.video`
``.gif``                  an animated GIF, read like a video (its frame delays give the fps)
directory of images       frames (``.png``, ``.jpg``, ...) in file-name order, read like a video;
                          ``--fps`` (default 25)
========================  =====================================================================

A directory is OpenPose output when it holds ``*_keypoints.json`` files, else frames when it holds
images.

The layout of arrays comes from ``--layout``, the file, or the joint count (22 imigue22, 25
openpose25, 33 mediapipe33, 75 mediapipe75, 137 openpose137, 17 coco17, 35 miga35).

:func:`check_usable` rejects inputs the recogniser cannot work with (too short, nobody in any frame,
a layout that shares too few joints with the model's); :func:`find_gaps` lists the spans of the
recording that were unreadable or empty, which the transcript metadata reports and the segmenter
masks.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.io_openpose import read_openpose_dir
from mgreason.skeleton.io_pyskl import annotation_to_sequence, read_pyskl
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.mapping import build_mapping
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcribe.video.options import (
    DEFAULT_FRAMES_FPS,
    GIF_SUFFIXES,
    IMAGE_SUFFIXES,
    VIDEO_KINDS,
    VIDEO_SUFFIXES,
)
from mgreason.transcribe.video.read import Progress, read_video

__all__ = [
    "LoadedInput",
    "Gap",
    "input_kind",
    "load_input",
    "load_array",
    "guess_layout",
    "find_gaps",
    "check_usable",
    "MIN_SECONDS",
    "MIN_FRAMES",
    "MIN_JOINT_COVERAGE",
]

MIN_SECONDS = 1.0  # shorter recordings are rejected
MIN_FRAMES = 16
MIN_JOINT_COVERAGE = 0.5  # share of the model's joints the input layout must provide (copied or derived)

_GUESS = {22: "imigue22", 25: "openpose25", 33: "mediapipe33", 75: "mediapipe75", 137: "openpose137", 17: "coco17",
          35: "miga35"}  # fmt: skip
_ARRAY_KEYS = ("keypoint", "keypoints", "skeleton", "data", "coords", "arr_0")
_SCORE_KEYS = ("keypoint_score", "keypoint_scores", "confidence", "scores")


@dataclass
class Gap:
    """A span of the recording without usable skeleton data."""

    start_frame: int
    end_frame: int  # exclusive
    start_s: float
    end_s: float
    reason: str  # "unreadable" (file/frames could not be read) or "no person" (nobody detected)
    masked: bool  # True: no gesture is reported inside it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        what = "unreadable" if self.reason == "unreadable" else "no person detected"
        n = self.end_frame - self.start_frame
        return f"{self.start_s:.2f}-{self.end_s:.2f} s ({n} frame{'s' if n != 1 else ''}): {what}"


@dataclass
class LoadedInput:
    sequence: SkeletonSequence
    kind: str  # openpose | npz | npy | pyskl | video | gif | frames
    path: Path
    id: str
    notes: list[str] = field(default_factory=list)


def _is_frames_dir(p: Path) -> bool:
    """A directory of frame images (and no OpenPose files)?"""
    images = False
    for f in p.iterdir():
        if f.name.endswith("_keypoints.json"):
            return False
        images = images or (f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
    return images


def input_kind(path: str | Path) -> str:
    p = Path(path)
    if p.is_dir():
        return "frames" if _is_frames_dir(p) else "openpose"
    suf = p.suffix.lower()
    if suf == ".npz":
        return "npz"
    if suf == ".npy":
        return "npy"
    if suf in (".pkl", ".pickle"):
        return "pyskl"
    if suf in VIDEO_SUFFIXES:
        return "video"
    if suf in GIF_SUFFIXES:
        return "gif"
    raise DataError(
        "unsupported input: expected an OpenPose directory, .npy/.npz, a PYSKL .pkl, a video "
        f"({', '.join(sorted(VIDEO_SUFFIXES))}), an animated .gif or a directory of frame images",
        file=p,
    )


def guess_layout(num_joints: int, channels: int, path: Optional[Path] = None) -> str:
    lay = _GUESS.get(int(num_joints))
    if lay is None:
        raise DataError(f"cannot tell the layout of {num_joints} joints; pass --layout", file=path, field="layout")
    return lay


def _as_sequence(
    arr: np.ndarray,
    score: Optional[np.ndarray],
    layout: Optional[str],
    fps: float,
    person: int,
    path: Path,
    meta: dict[str, Any],
) -> SkeletonSequence:
    a = np.asarray(arr)
    if not np.issubdtype(a.dtype, np.number):
        raise DataError(f"keypoints must be numbers, got dtype {a.dtype}", file=path)
    a = a.astype(np.float32)
    if a.ndim == 4:
        if not 0 <= person < a.shape[0]:
            raise DataError(f"array holds {a.shape[0]} person(s), asked for --person {person}", file=path)
        a = a[person]
        if score is not None and np.ndim(score) == 3:
            score = np.asarray(score)[person]
    elif person != 0:
        raise DataError(f"the array holds 1 person (shape {a.shape}), asked for --person {person}", file=path)
    if a.ndim != 3:
        raise DataError(f"keypoints must be (T, V, C) or (M, T, V, C), got shape {a.shape}", file=path)
    T, V, C = a.shape
    lay = get_layout(layout or guess_layout(V, C, path))
    if V != lay.num_joints:
        raise DataError(
            f"wrong layout: the array has {V} joints but layout {lay.name} has {lay.num_joints}; pass the right --layout",
            file=path,
            field="layout",
        )
    if score is not None:
        conf = np.asarray(score, dtype=np.float32)
        if conf.shape != (T, V):
            raise DataError(f"confidence must be (T, V) = {(T, V)}, got {conf.shape}", file=path)
        coords = a
    elif C == lay.dims + 1 or (lay.dims == 3 and C == 4):
        coords, conf = a[..., :-1], a[..., -1]
    elif C in (2, 3):
        coords = a
        conf = (np.all(np.isfinite(a), -1) & np.any(a != 0, -1)).astype(np.float32)
    else:
        raise DataError(
            f"keypoints have {C} channels; layout {lay.name} expects {lay.dims} (+1 for confidence)", file=path
        )
    if coords.shape[-1] not in (2, 3):
        raise DataError(f"keypoints have {coords.shape[-1]} coordinates, expected 2 or 3", file=path)
    coords = coords.copy()
    conf = np.nan_to_num(conf.astype(np.float32), nan=0.0)
    bad = (conf <= 0) | ~np.all(np.isfinite(coords), axis=-1)
    coords[bad] = np.nan
    conf[bad] = 0.0
    return SkeletonSequence(coords, np.clip(conf, 0, 1), fps, lay.name, meta)


def load_array(path: str | Path, *, layout: Optional[str] = None, fps: Optional[float] = None, person: int = 0) -> SkeletonSequence:
    """A ``.npy`` / ``.npz`` keypoint file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", file=path)
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
            return _as_sequence(arr, None, layout, float(fps or 25.0), person, path, {"source": "npy", "path": str(path)})
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if {"coords", "confidence", "fps", "layout"} <= keys:
                seq = SkeletonSequence.load(path)
                if layout and get_layout(layout).name != seq.layout:
                    raise DataError(f"the file says layout {seq.layout}, --layout says {layout}", file=path, field="layout")
                if fps:
                    seq = seq.replace(fps=float(fps))
                return seq
            key = next((k for k in _ARRAY_KEYS if k in keys), None)
            if key is None:
                arrays = [k for k in z.files if z[k].ndim >= 3]
                if len(arrays) != 1:
                    raise DataError(
                        f"cannot tell which array holds the keypoints (arrays: {', '.join(z.files) or 'none'}); "
                        f"name it one of {', '.join(_ARRAY_KEYS)}",
                        file=path,
                    )
                key = arrays[0]
            arr = z[key]
            skey = next((k for k in _SCORE_KEYS if k in keys and k != key), None)
            score = z[skey] if skey else None
            file_fps = float(z["fps"]) if "fps" in keys else None
            file_layout = str(z["layout"]) if "layout" in keys else None
        meta = {"source": "npz", "path": str(path)}
        return _as_sequence(arr, score, layout or file_layout, float(fps or file_fps or 25.0), person, path, meta)
    except DataError as e:
        if e.file is None:
            raise DataError(e.message, file=path, field=e.field) from None
        raise
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read keypoint array: {e}", file=path) from None
    except Exception as e:  # zlib.error from a corrupt member, ...: a bad file is one line, never a traceback
        raise DataError(f"cannot read keypoint array: {_describe(e)}", file=path) from None


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__module__.split('.')[0]}.{type(e).__name__}: {text}".replace("builtins.", "").rstrip(": ")


def _load_pyskl(path: Path, entry: Optional[str], layout: Optional[str], fps: Optional[float], person: int) -> tuple[SkeletonSequence, str]:
    anns, _ = read_pyskl(path)
    if not anns:
        raise DataError("the PYSKL pickle has no annotations", file=path)
    ids = [str(a["frame_dir"]) for a in anns]
    if entry is None:
        if len(anns) > 1:
            raise DataError(
                f"the pickle holds {len(anns)} annotations; choose one with --entry (a frame_dir such as "
                f"{ids[0]!r}, or an index 0..{len(anns) - 1})",
                file=path,
            )
        ann = anns[0]
    elif entry in ids:
        ann = anns[ids.index(entry)]
    elif entry.lstrip("-").isdigit() and -len(anns) <= int(entry) < len(anns):
        ann = anns[int(entry)]
    else:
        raise DataError(f"no annotation {entry!r} (first ids: {', '.join(ids[:3])})", file=path, field="--entry")
    try:
        seq = annotation_to_sequence(ann, layout=layout, fps=fps, person=person)
    except DataError as e:
        raise DataError(e.message, file=path, field=e.field or f"annotation {ann['frame_dir']!r}") from None
    seq.meta.update({"source": "pyskl", "path": str(path), "entry": str(ann["frame_dir"])})
    return seq, str(ann["frame_dir"])


def load_input(
    path: str | Path,
    *,
    fps: Optional[float] = None,
    layout: Optional[str] = None,
    entry: Optional[str] = None,
    person: int = 0,
    video_model: str = "holistic",
    max_frames: Optional[int] = None,
    progress: Optional[Progress] = None,
    video_options: Optional[dict[str, Any]] = None,
) -> LoadedInput:
    """Read any supported input (see the module docstring). Raises :class:`DataError` on bad input.

    ``video_options``: more keyword arguments of :func:`~mgreason.transcribe.video.read_video` (what
    :func:`mgreason.transcribe.video.options.video_options` returns; its ``model`` wins over ``video_model``)."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or directory", file=path)
    if fps is not None and not (np.isfinite(fps) and 0 < fps <= 1000):
        raise DataError(f"fps must be in (0, 1000], got {fps}", field="--fps")
    kind = input_kind(path)
    if kind != "openpose":  # the path rule: a regular file (a FIFO or device is never opened)
        from mgreason.fileio import require_input_file

        require_input_file(path, error=DataError)
    try:
        return _load_input(path, kind, fps, layout, entry, person, video_model, max_frames, progress, video_options)
    except (DataError, KeyboardInterrupt):
        raise
    except MemoryError:
        raise DataError(f"not enough memory to read this {kind} input", file=path) from None
    except Exception as e:  # every decoding error of every input format: one line naming the file
        raise DataError(f"cannot read {kind} input: {_describe(e)}", file=path) from None


def _load_input(
    path: Path,
    kind: str,
    fps: Optional[float],
    layout: Optional[str],
    entry: Optional[str],
    person: int,
    video_model: str,
    max_frames: Optional[int],
    progress: Optional[Progress],
    video_options: Optional[dict[str, Any]] = None,
) -> LoadedInput:
    notes: list[str] = []
    rid = path.name if path.is_dir() else path.stem
    if person != 0 and kind in ("openpose", *VIDEO_KINDS):
        raise DataError(
            f"--person applies to multi-person arrays and PYSKL entries; {kind} input is read as one person "
            "(the most prominent one, tracked through the recording)",
            file=path,
            field="--person",
        )
    if kind == "openpose":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unreadable files are reported as gaps instead
            seq = read_openpose_dir(path, fps=float(fps or 25.0), layout="openpose137")
        if fps is None:
            notes.append("OpenPose JSON has no frame rate: assuming 25 fps (pass --fps)")
        if layout and get_layout(layout).name != "openpose137":
            raise DataError("OpenPose directories are read as openpose137; drop --layout", field="--layout")
        if seq.meta.get("bad_files"):
            notes.append(f"{len(seq.meta['bad_files'])} unreadable OpenPose file(s), e.g. {seq.meta['bad_files'][0]}")
    elif kind in ("npy", "npz"):
        seq = load_array(path, layout=layout, fps=fps, person=person)
    elif kind == "pyskl":
        seq, rid = _load_pyskl(path, entry, layout, fps, person)
    else:  # video, gif, frames: the video reader
        if layout:
            raise DataError("video is read as MediaPipe landmarks; drop --layout", field="--layout")
        seq = read_video(path, **{"model": video_model, **(video_options or {})}, max_frames=max_frames, progress=progress,
                         fps=fps if kind == "frames" else None)  # fmt: skip
        if kind == "frames" and fps is None:
            notes.append(f"frame images have no frame rate: assuming {DEFAULT_FRAMES_FPS:g} fps (pass --fps)")
        elif fps is not None and kind != "frames":
            notes.append(f"--fps ignored for {kind} (the {'container' if kind == 'video' else 'GIF'} says {seq.fps:g} fps)")
    if max_frames is not None and kind not in VIDEO_KINDS and seq.num_frames > max_frames:
        seq = seq[:max_frames]
    return LoadedInput(seq, kind, path, rid, notes)


# --------------------------------------------------------------------------- checks
def _unreadable_frames(seq: SkeletonSequence) -> set[int]:
    out: set[int] = set()
    for key in ("unreadable_frames", "missing_frames"):
        v = seq.meta.get(key)
        if isinstance(v, (list, tuple)):
            out.update(int(i) for i in v)
    return out


def find_gaps(seq: SkeletonSequence, min_gap_s: float = 0.5) -> tuple[list[Gap], np.ndarray]:
    """``(gaps, mask)``: spans without a person or with unreadable frames, and a per-frame mask that is
    False inside the gaps the segmenter must skip.

    Every unreadable span is reported (masked when it lasts ``min_gap_s`` or more: shorter ones are
    bridged by interpolation like ordinary tracking drop-outs); spans with nobody detected are reported
    and masked from ``min_gap_s`` on.
    """
    T = seq.num_frames
    code = np.zeros(T, dtype=np.int8)
    code[~seq.valid.any(axis=1)] = 1
    bad = [i for i in _unreadable_frames(seq) if 0 <= i < T]
    code[bad] = 2
    min_len = max(1, int(round(min_gap_s * seq.fps)))
    start_s = float(seq.meta.get("start_s", 0.0))
    gaps: list[Gap] = []
    mask = np.ones(T, dtype=bool)
    i = 0
    while i < T:
        c = code[i]
        if c == 0:
            i += 1
            continue
        j = i
        while j < T and code[j] == c:
            j += 1
        long = (j - i) >= min_len
        if c == 2 or long:
            gaps.append(
                Gap(i, j, round(start_s + i / seq.fps, 4), round(start_s + j / seq.fps, 4),
                    "unreadable" if c == 2 else "no person", bool(long))  # fmt: skip
            )
            if long:
                mask[i:j] = False
        i = j
    return gaps, mask


def check_usable(
    seq: SkeletonSequence,
    model_layout: str,
    *,
    path: Optional[str | Path] = None,
    min_seconds: float = MIN_SECONDS,
    min_frames: int = MIN_FRAMES,
) -> None:
    """Raise :class:`DataError` (one clear line) when the recogniser cannot be run on ``seq``."""
    need = max(int(min_frames), int(np.ceil(min_seconds * seq.fps)))
    if seq.num_frames < need:
        raise DataError(
            f"too short: {seq.num_frames} frame(s) ({seq.duration_s:.2f} s at {seq.fps:g} fps); "
            f"transcribing needs at least {need} frames ({max(min_seconds, min_frames / seq.fps):.2f} s)",
            file=path,
        )
    m = build_mapping(seq.layout, model_layout)
    n = get_layout(model_layout).num_joints
    have = n - len(m.missing)
    if have < MIN_JOINT_COVERAGE * n:
        raise DataError(
            f"wrong layout: {seq.layout} provides only {have} of the {n} joints of the model's layout "
            f"{model_layout} (missing e.g. {', '.join(m.missing[:4])})",
            file=path,
            field="layout",
        )
    valid = seq.valid
    if not valid.any():
        raise DataError("no person detected in any frame", file=path)
    c, k = m.apply(np.where(valid[..., None], seq.coords, np.nan), np.where(valid, seq.confidence, 0.0))
    seen = (k > 0).any(axis=0)
    if not seen.any():
        raise DataError(
            f"none of the model's {model_layout} joints is ever visible (only joints the model does not use were found)",
            file=path,
        )
