"""PYSKL / MMAction2 ``PoseDataset`` pickles.

The file is a pickled dict ``{'split': {name: [frame_dir, ...]}, 'annotations': [ann, ...]}``.
Each annotation holds ``frame_dir`` (id), ``label`` (int), ``total_frames``,
``keypoint`` float32 ``[M, T, V, C]``, ``keypoint_score`` float32 ``[M, T, V]`` (2D),
``img_shape`` and ``original_shape`` (H, W). Extra keys are kept; this project adds
``layout``, ``fps``, ``subject`` and, for untrimmed sequences, ``segments`` =
``[(start_frame, end_frame, label), ...]``.

Pickles are read with a restricted unpickler that only rebuilds numpy arrays and
plain Python containers, so a pickle from elsewhere cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.fileio import atomic_path
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = [
    "read_pyskl",
    "write_pyskl",
    "sequence_to_annotation",
    "annotation_to_sequence",
    "safe_pickle_load",
    "REQUIRED_KEYS",
]

REQUIRED_KEYS = ("frame_dir", "label", "total_frames", "keypoint")

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "tuple"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module.startswith("numpy") and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"pickle refers to {module}.{name}, which is not allowed")


def safe_pickle_load(path: str | Path) -> Any:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read file: {e.strerror or e}", file=path) from None
    try:
        return _SafeUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as e:
        raise DataError(f"not a readable pickle: {e}", file=path) from None


def sequence_to_annotation(
    seq: SkeletonSequence,
    label: int,
    frame_dir: str,
    img_shape: Optional[tuple[int, int]] = None,
    **extra: Any,
) -> dict[str, Any]:
    """One PYSKL annotation (one person, M = 1). Invalid joints are written as 0 with score 0."""
    valid = seq.valid
    kp = np.where(valid[..., None], seq.coords, 0.0).astype(np.float32)[None]
    score = np.where(valid, seq.confidence, 0.0).astype(np.float32)[None]
    shape = tuple(int(v) for v in (img_shape or seq.meta.get("img_shape") or (720, 1280)))
    ann: dict[str, Any] = {
        "frame_dir": str(frame_dir),
        "label": int(label),
        "total_frames": int(seq.num_frames),
        "img_shape": shape,
        "original_shape": shape,
        "keypoint": kp,
        "keypoint_score": score,
        "layout": seq.layout,
        "fps": float(seq.fps),
    }
    ann.update(extra)
    return ann


def annotation_to_sequence(
    ann: dict[str, Any], layout: Optional[str] = None, fps: Optional[float] = None, person: int = 0
) -> SkeletonSequence:
    """The ``person``-th body of an annotation as a sequence (zero-score joints are invalid)."""
    kp = np.asarray(ann["keypoint"], dtype=np.float32)
    M = kp.shape[0]
    if not 0 <= person < M:
        raise DataError(f"annotation {ann.get('frame_dir')!r} has {M} person(s), asked for index {person}")
    coords = kp[person].copy()
    if "keypoint_score" in ann and ann["keypoint_score"] is not None:
        conf = np.asarray(ann["keypoint_score"], dtype=np.float32)[person].copy()
    else:
        conf = (np.any(coords != 0, axis=-1) & np.all(np.isfinite(coords), axis=-1)).astype(np.float32)
    lay = layout or ann.get("layout")
    if lay is None:
        lay = {22: "imigue22", 25: "openpose25" if coords.shape[-1] == 2 else "ntu25", 17: "coco17",
               137: "openpose137", 33: "mediapipe33", 75: "mediapipe75", 35: "miga35"}.get(coords.shape[1])  # fmt: skip
        if lay is None:
            raise DataError(f"cannot guess the layout of {coords.shape[1]} joints; pass layout=", field="layout")
    bad = (conf <= 0) | ~np.all(np.isfinite(coords), axis=-1)
    coords[bad] = np.nan
    conf[bad] = 0.0
    meta = {k: v for k, v in ann.items() if k not in ("keypoint", "keypoint_score") and _plain(v)}
    return SkeletonSequence(coords, conf, float(fps or ann.get("fps") or 25.0), lay, meta)


def _plain(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, tuple, list, dict, type(None), np.integer, np.floating))


def write_pyskl(
    path: str | Path,
    annotations: Iterable[dict[str, Any]],
    split: Optional[dict[str, list[str]]] = None,
    **extra: Any,
) -> Path:
    """Write a PYSKL pickle. ``split`` defaults to ``{'all': [every frame_dir]}``."""
    anns = list(annotations)
    _validate(anns, split, Path(path))
    if split is None:
        split = {"all": [a["frame_dir"] for a in anns]}
    data = {"split": {k: list(v) for k, v in split.items()}, "annotations": anns}
    data.update(extra)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:  # no truncated pickle under the final name
        pickle.dump(data, f, protocol=4)
    return path


def read_pyskl(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """``(annotations, split)`` of a PYSKL pickle, validated (raises DataError)."""
    path = Path(path)
    data = safe_pickle_load(path)
    if isinstance(data, list):  # some tools store the annotation list alone
        data = {"split": {}, "annotations": data}
    if not isinstance(data, dict) or "annotations" not in data:
        raise DataError("not a PYSKL pickle (no 'annotations')", file=path)
    anns = data["annotations"]
    split = data.get("split") or {}
    if not isinstance(anns, list) or not isinstance(split, dict):
        raise DataError("'annotations' must be a list and 'split' a dict", file=path)
    _validate(anns, split, path)
    return anns, {str(k): list(v) for k, v in split.items()}


def _validate(anns: list[dict[str, Any]], split: Optional[dict[str, list[str]]], path: Path) -> None:
    ids = set()
    for i, a in enumerate(anns):
        where = f"annotations[{i}]"
        if not isinstance(a, dict):
            raise DataError("annotation is not a dict", file=path, field=where)
        for k in REQUIRED_KEYS:
            if k not in a:
                raise DataError(f"missing key {k!r}", file=path, field=where)
        kp = a["keypoint"]
        if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.shape[-1] not in (2, 3):
            shape = getattr(kp, "shape", type(kp).__name__)
            raise DataError(
                f"keypoint must be an array [M, T, V, C], got {shape}", file=path, field=f"{where}.keypoint"
            )
        if int(a["total_frames"]) != kp.shape[1]:
            raise DataError(
                f"total_frames={a['total_frames']} but keypoint has {kp.shape[1]} frames",
                file=path,
                field=f"{where}.total_frames",
            )
        sc = a.get("keypoint_score")
        if sc is not None and (not isinstance(sc, np.ndarray) or sc.shape != kp.shape[:3]):
            raise DataError(
                f"keypoint_score must be [M, T, V] = {kp.shape[:3]}, got {getattr(sc, 'shape', None)}",
                file=path,
                field=f"{where}.keypoint_score",
            )
        try:
            int(a["label"])
        except (TypeError, ValueError):
            raise DataError(
                f"label must be an integer, got {a['label']!r}", file=path, field=f"{where}.label"
            ) from None
        if a["frame_dir"] in ids:
            raise DataError(f"duplicate frame_dir {a['frame_dir']!r}", file=path, field=f"{where}.frame_dir")
        ids.add(a["frame_dir"])
    for name, members in (split or {}).items():
        unknown = [m for m in members if m not in ids]
        if unknown:
            raise DataError(
                f"split {name!r} names {len(unknown)} unknown frame_dir(s), e.g. {unknown[0]!r}",
                file=path,
                field="split",
            )
