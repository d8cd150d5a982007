"""OpenPose JSON output: one ``*_keypoints.json`` file per frame.

Reading keeps one person consistently: the most prominent person of the first frame
where anyone is seen, then in every later frame the detection closest to that
person's last known pose. Frames with nobody in them, files missing from the
numbering, and unreadable (truncated, corrupt) files become frames with all joints
missing (confidence 0); they are listed in ``meta['empty_frames']`` and
``meta['bad_files']``. ``strict=True`` raises :class:`DataError` on the first
unreadable file instead.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.mapping import build_mapping
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["read_openpose_dir", "read_openpose_frame", "write_openpose_dir", "OPENPOSE_PARTS"]

# JSON key and number of keypoints of each part, in openpose137 order
OPENPOSE_PARTS = (
    ("pose_keypoints_2d", 25),
    ("face_keypoints_2d", 70),
    ("hand_left_keypoints_2d", 21),
    ("hand_right_keypoints_2d", 21),
)
_FRAME_RE = re.compile(r"(\d+)_keypoints\.json$")


def _parse_person(person: dict, parts: tuple[tuple[str, int], ...]) -> np.ndarray:
    """(V, 3) x, y, confidence; absent parts are zeros."""
    rows = []
    for key, n in parts:
        vals = person.get(key)
        if vals is None or len(vals) == 0:
            rows.append(np.zeros((n, 3), dtype=np.float32))
            continue
        arr = np.asarray(vals, dtype=np.float32)
        if arr.ndim != 1 or arr.size != 3 * n:
            raise ValueError(f"{key} has {arr.size} values, expected {3 * n}")
        rows.append(arr.reshape(n, 3))
    return np.concatenate(rows)


MAX_FRAME_BYTES = 64 << 20  # one frame's JSON (a crowded frame with hands and face is ~100 kB)
# Frame numbers are file names, not data: the gaps they imply are bounded by what is on disk, so two
# files numbered 0 and 10,000,000 are refused instead of allocating ten million frames.
MAX_GAP_FRAMES = 15_000  # missing frames allowed beyond 3 per file present (10 minutes at 25 fps)


def read_openpose_frame(path: str | Path, parts: tuple[tuple[str, int], ...] = OPENPOSE_PARTS) -> list[np.ndarray]:
    """All people of one OpenPose JSON file, each a (V, 3) array. Raises DataError if unreadable."""
    from mgreason.fileio import read_input_bytes

    path = Path(path)
    data_bytes = read_input_bytes(path, error=DataError, field="people", max_bytes=MAX_FRAME_BYTES)  # never a FIFO
    try:
        data = json.loads(data_bytes.decode("utf-8"))
        people = data["people"]
        if not isinstance(people, list):
            raise ValueError("'people' is not a list")
        return [_parse_person(p, parts) for p in people]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError) as e:
        raise DataError(f"unreadable OpenPose frame: {type(e).__name__}: {e}", file=path, field="people") from None


def _person_score(p: np.ndarray) -> float:
    """Prominence: summed confidence times the size of the confident body joints."""
    body = p[:25]
    ok = body[:, 2] > 0.05
    if ok.sum() < 2:
        return float(body[:, 2].sum())
    span = np.ptp(body[ok, :2], axis=0).max()
    return float(body[ok, 2].sum() * (1.0 + span))


def _distance(p: np.ndarray, ref: np.ndarray, ref_ok: np.ndarray) -> float:
    body, rbody = p[:25], ref[:25]
    ok = (body[:, 2] > 0.05) & ref_ok[:25]
    if ok.sum() == 0:
        return np.inf
    return float(np.median(np.linalg.norm(body[ok, :2] - rbody[ok, :2], axis=1)))


def read_openpose_dir(
    directory: str | Path,
    *,
    fps: float = 25.0,
    layout: str = "openpose137",
    pattern: str = "*_keypoints.json",
    strict: bool = False,
    img_shape: Optional[tuple[int, int]] = None,
) -> SkeletonSequence:
    """Read an OpenPose output directory into one :class:`SkeletonSequence`.

    ``layout`` is ``openpose137`` (body, face and hands) or any layout reachable from it
    by name (``openpose25``, ``imigue22``, ...); other layouts are mapped. Frames are
    ordered by the number in the file name (``<video>_<frame>_keypoints.json``); gaps
    in the numbering become missing frames.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("OpenPose directory not found", file=directory)
    files = sorted(directory.glob(pattern))
    if not files:
        raise DataError(f"no OpenPose files matching {pattern!r}", file=directory)
    numbers = []
    for f in files:
        m = _FRAME_RE.search(f.name)
        numbers.append(int(m.group(1)) if m else None)
    if all(n is not None for n in numbers) and len(set(numbers)) == len(numbers):
        order = np.argsort(numbers)
        files = [files[i] for i in order]
        nums = [numbers[i] for i in order]
        first = nums[0]
        frame_of = [n - first for n in nums]
        T = nums[-1] - first + 1
        if T > 4 * len(files) + MAX_GAP_FRAMES:
            raise DataError(
                f"the frame numbers in the file names span {T:,} frames ({first}..{nums[-1]}) but only "
                f"{len(files):,} files exist; gaps that large are not a recording (a stray file?): keep one "
                "recording per directory",
                file=directory,
            )
    else:  # no usable numbering: lexicographic order, no gaps
        first = 0
        frame_of = list(range(len(files)))
        T = len(files)

    V = sum(n for _, n in OPENPOSE_PARTS)
    raw = np.zeros((T, V, 3), dtype=np.float32)
    present = np.zeros(T, dtype=bool)
    bad_files: list[str] = []
    empty_frames: list[int] = []
    multi_frames = 0
    ref: Optional[np.ndarray] = None
    ref_ok = np.zeros(V, dtype=bool)
    for f, t in zip(files, frame_of):
        try:
            people = read_openpose_frame(f)
        except DataError:
            if strict:
                raise
            bad_files.append(f.name)
            continue
        present[t] = True
        if not people:
            empty_frames.append(t)
            continue
        if len(people) > 1:
            multi_frames += 1
        if ref is None:
            pick = max(people, key=_person_score)
        else:
            dists = [_distance(p, ref, ref_ok) for p in people]
            best = int(np.argmin(dists))
            pick = people[best] if np.isfinite(dists[best]) else max(people, key=_person_score)
        raw[t] = pick
        ok = pick[:, 2] > 0.05
        if ref is None:
            ref = pick.copy()
        ref[ok] = pick[ok]
        ref_ok |= ok
    if bad_files:
        warnings.warn(
            f"{directory}: {len(bad_files)} unreadable OpenPose file(s) treated as missing frames", stacklevel=2
        )
    if not present.any():
        raise DataError("no readable OpenPose file", file=directory)

    conf = raw[..., 2].copy()
    coords = raw[..., :2].copy()
    missing = (conf <= 0) | ~np.all(np.isfinite(coords), axis=-1)
    coords[missing] = np.nan
    conf[missing] = 0.0
    conf = np.clip(conf, 0.0, 1.0)
    meta = {
        "source": "openpose",
        "path": str(directory),
        "first_frame": int(first),
        "bad_files": bad_files,
        "empty_frames": empty_frames,
        "missing_frames": [int(t) for t in np.flatnonzero(~present)],
        "multi_person_frames": multi_frames,
    }
    if img_shape is not None:
        meta["img_shape"] = list(img_shape)
    seq = SkeletonSequence(coords, conf, fps, "openpose137", meta)
    target = get_layout(layout).name
    if target != "openpose137":
        m = build_mapping("openpose137", target)
        c, k = m.apply(seq.coords, seq.confidence)
        meta = dict(meta, mapped_from="openpose137", missing_joints=m.missing)
        seq = SkeletonSequence(c, k, fps, target, meta)
    return seq


def write_openpose_dir(
    seq: SkeletonSequence, directory: str | Path, prefix: str = "video", version: float = 1.3
) -> list[Path]:
    """Write one OpenPose-style JSON per frame (``<prefix>_<12-digit frame>_keypoints.json``).

    The sequence is mapped to ``openpose137`` first (joints it lacks are written as zeros).
    Frames without any valid joint are written with an empty ``people`` list.
    """
    if seq.num_channels != 2:
        raise DataError("OpenPose JSON holds 2D keypoints; the sequence has 3 channels", field="coords")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    m = build_mapping(seq.layout, "openpose137", derive=False)
    coords, conf = m.apply(seq.coords, seq.confidence)
    valid = (conf > 0) & np.all(np.isfinite(coords), axis=-1)
    coords = np.where(valid[..., None], coords, 0.0)
    conf = np.where(valid, conf, 0.0)
    raw = np.concatenate([coords, conf[..., None]], axis=-1).astype(np.float64)
    paths = []
    for t in range(seq.num_frames):
        people = []
        if valid[t].any():
            person: dict = {"person_id": [-1]}
            off = 0
            for key, n in OPENPOSE_PARTS:
                person[key] = [round(float(v), 4) for v in raw[t, off : off + n].reshape(-1)]
                off += n
            for key, _ in OPENPOSE_PARTS:
                person[key.replace("_2d", "_3d")] = []
            people.append(person)
        p = directory / f"{prefix}_{t:012d}_keypoints.json"
        p.write_text(json.dumps({"version": version, "people": people}), encoding="utf-8")
        paths.append(p)
    return paths
