"""ST-GCN style arrays: ``<split>_data.npy`` of shape ``(N, C, T, V, M)`` and
``<split>_label.pkl`` = ``(sample_names, labels)``.

For 2D layouts with C = 3 the third channel is the keypoint confidence (OpenPose
style, as in the MiGA iMiGUE data); for 3D layouts (``ntu25``) the three channels are
x, y, z and a joint is valid where it is not all zeros. Clips shorter than T are
zero-padded at the end; reading trims that padding.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.fileio import atomic_path
from mgreason.skeleton.io_pyskl import safe_pickle_load
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["read_stgcn", "write_stgcn", "StgcnSample"]


class StgcnSample(tuple):
    """``(name, label, sequence)``"""

    __slots__ = ()

    def __new__(cls, name: str, label: int, sequence: SkeletonSequence) -> "StgcnSample":
        return super().__new__(cls, (name, label, sequence))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def label(self) -> int:
        return self[1]

    @property
    def sequence(self) -> SkeletonSequence:
        return self[2]


def _channels(layout: str, C: int, channels: Optional[str]) -> str:
    if channels:
        if channels not in ("xy", "xyc", "xyz", "xyzc"):
            raise DataError(f"channels must be xy, xyc, xyz or xyzc, got {channels!r}", field="channels")
        if len(channels) != C:
            raise DataError(f"channels={channels!r} but the data have C={C}", field="channels")
        return channels
    if C == 2:
        return "xy"
    if C == 4:
        return "xyzc"
    return "xyz" if get_layout(layout).dims == 3 else "xyc"


def read_stgcn(
    data_path: str | Path,
    label_path: Optional[str | Path] = None,
    *,
    layout: str = "imigue22",
    fps: float = 25.0,
    channels: Optional[str] = None,
    person: int = 0,
    trim: bool = True,
) -> list[StgcnSample]:
    """Read an ST-GCN ``*_data.npy`` (+ ``*_label.pkl``) into ``(name, label, sequence)`` samples.

    Without a label file every label is -1 and names are ``sample_<i>``.
    """
    data_path = Path(data_path)
    from mgreason.fileio import refuse_special_file

    refuse_special_file(data_path, error=DataError)  # the path rule: never a FIFO or device
    try:
        data = np.load(data_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read ST-GCN data: {e}", file=data_path) from None
    if data.ndim != 5:
        raise DataError(f"ST-GCN data must be (N, C, T, V, M), got shape {data.shape}", file=data_path)
    N, C, T, V, M = data.shape
    lay = get_layout(layout)
    if V != lay.num_joints:
        raise DataError(f"data have {V} joints but layout {lay.name} has {lay.num_joints}", file=data_path)
    if not 0 <= person < M:
        raise DataError(f"data have {M} person(s), asked for index {person}", file=data_path)
    ch = _channels(lay.name, C, channels)

    if label_path is not None:
        label_path = Path(label_path)
        obj = safe_pickle_load(label_path)
        if not (isinstance(obj, (tuple, list)) and len(obj) >= 2):
            raise DataError("label file must hold (sample_names, labels)", file=label_path)
        names, labels = list(obj[0]), [int(x) for x in obj[1]]
        if len(names) != N or len(labels) != N:
            raise DataError(
                f"label file lists {len(names)} names / {len(labels)} labels for {N} samples", file=label_path
            )
    else:
        names, labels = [f"sample_{i}" for i in range(N)], [-1] * N

    out = []
    for i in range(N):
        x = np.asarray(data[i, :, :, :, person], dtype=np.float32).transpose(1, 2, 0)  # T, V, C
        if ch.endswith("c"):
            coords, conf = x[..., :-1], x[..., -1].copy()
            valid = conf > 0
        else:
            coords = x
            valid = np.any(coords != 0, axis=-1)
            conf = valid.astype(np.float32)
        valid &= np.all(np.isfinite(coords), axis=-1)
        n = T
        if trim:
            frame_any = np.any(x != 0, axis=(1, 2))
            nz = np.flatnonzero(frame_any)
            n = int(nz[-1]) + 1 if nz.size else 0
        coords = coords[:n].copy()
        conf = np.where(valid, conf, 0.0)[:n].astype(np.float32)
        coords[~valid[:n]] = np.nan
        meta = {"source": "stgcn", "name": str(names[i]), "label": labels[i]}
        out.append(StgcnSample(str(names[i]), labels[i], SkeletonSequence(coords, conf, fps, lay.name, meta)))
    return out


def write_stgcn(
    data_path: str | Path,
    label_path: str | Path,
    sequences: Sequence[SkeletonSequence],
    labels: Sequence[int],
    names: Optional[Sequence[str]] = None,
    *,
    max_frame: Optional[int] = None,
    keep: str = "last",
    with_confidence: Optional[bool] = None,
) -> tuple[Path, Path]:
    """Write ``(N, C, T, V, 1)`` float32 + ``(names, labels)`` pickle.

    Clips longer than ``max_frame`` keep their last frames (``keep='last'``, as the
    iMiGUE/SMG baselines do) or first frames (``keep='first'``); shorter ones are
    zero-padded. 2D sequences get a confidence channel by default (C = 3).
    """
    if len(sequences) != len(labels):
        raise DataError(f"{len(sequences)} sequences but {len(labels)} labels")
    if not sequences:
        raise DataError("no sequences to write")
    names = list(names) if names is not None else [f"sample_{i:06d}" for i in range(len(sequences))]
    if len(names) != len(sequences):
        raise DataError(f"{len(sequences)} sequences but {len(names)} names")
    if keep not in ("last", "first"):
        raise DataError(f"keep must be 'last' or 'first', got {keep!r}", field="keep")
    lay, Cc = sequences[0].layout, sequences[0].num_channels
    for s in sequences:
        if s.layout != lay or s.num_channels != Cc:
            raise DataError("all sequences must share layout and channel count")
    if with_confidence is None:
        with_confidence = Cc == 2
    T = max_frame or max(s.num_frames for s in sequences)
    C = Cc + int(with_confidence)
    out = np.zeros((len(sequences), C, T, sequences[0].num_joints, 1), dtype=np.float32)
    for i, s in enumerate(sequences):
        a = s.to_array(with_confidence=with_confidence, fill=0.0)
        a = a[-T:] if keep == "last" else a[:T]
        out[i, :, : a.shape[0], :, 0] = a.transpose(2, 0, 1)
    data_path, label_path = Path(data_path), Path(label_path)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    label_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(data_path) as tmp, open(tmp, "wb") as f:  # no truncated file under a final name
        np.save(f, out)
    with atomic_path(label_path) as tmp, open(tmp, "wb") as f:
        pickle.dump((list(names), [int(x) for x in labels]), f, protocol=4)
    return data_path, label_path
