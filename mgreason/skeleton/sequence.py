"""One in-memory type for skeleton sequences, whatever file they came from.

Conventions:

* ``coords`` is float32 ``(T, V, C)``: T frames, V joints of ``layout``, C = 2 (image
  x, y in pixels, y down) or 3 (world x, y, z).
* ``confidence`` is float32 ``(T, V)`` in [0, 1]. A joint is *valid* in a frame iff its
  confidence is > 0 and its coordinates are finite. Invalid joints carry no meaning
  in ``coords`` (loaders put NaN there; writers write 0, as OpenPose does).
* ``fps`` is the frame rate; ``meta`` is free-form (JSON-serialisable values are kept by
  :meth:`save`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.layouts import Layout, get_layout

__all__ = ["SkeletonSequence"]


@dataclass
class SkeletonSequence:
    coords: np.ndarray
    confidence: np.ndarray
    fps: float
    layout: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lay = get_layout(self.layout)
        self.layout = lay.name
        coords = np.asarray(self.coords, dtype=np.float32)
        if coords.ndim != 3:
            raise DataError(f"coords must be (T, V, C), got shape {coords.shape}", field="coords")
        if coords.shape[1] != lay.num_joints:
            raise DataError(
                f"coords have {coords.shape[1]} joints but layout {lay.name} has {lay.num_joints}", field="coords"
            )
        if coords.shape[2] not in (2, 3):
            raise DataError(f"coords must have 2 or 3 channels, got {coords.shape[2]}", field="coords")
        if self.confidence is None:
            conf = np.where(np.all(np.isfinite(coords), axis=-1), 1.0, 0.0).astype(np.float32)
        else:
            conf = np.asarray(self.confidence, dtype=np.float32)
        if conf.shape != coords.shape[:2]:
            raise DataError(f"confidence must be (T, V) = {coords.shape[:2]}, got {conf.shape}", field="confidence")
        fps = float(self.fps)
        if not np.isfinite(fps) or fps <= 0:
            raise DataError(f"fps must be positive, got {self.fps}", field="fps")
        self.coords, self.confidence, self.fps = coords, conf, fps
        if self.meta is None:
            self.meta = {}

    # ---- shape ----------------------------------------------------------------
    @property
    def layout_obj(self) -> Layout:
        return get_layout(self.layout)

    @property
    def num_frames(self) -> int:
        return int(self.coords.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.coords.shape[1])

    @property
    def num_channels(self) -> int:
        return int(self.coords.shape[2])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    def __len__(self) -> int:
        return self.num_frames

    @property
    def times(self) -> np.ndarray:
        """Time of every frame in seconds (frame i at i / fps, plus ``meta['start_s']`` if set)."""
        return float(self.meta.get("start_s", 0.0)) + np.arange(self.num_frames) / self.fps

    @property
    def valid(self) -> np.ndarray:
        """Boolean (T, V): confidence > 0 and finite coordinates."""
        return (self.confidence > 0) & np.all(np.isfinite(self.coords), axis=-1)

    # ---- access ---------------------------------------------------------------
    def joint(self, name: str) -> np.ndarray:
        """(T, C) coordinates of one joint (NaN where invalid)."""
        i = self.layout_obj.index(name)
        out = self.coords[:, i].copy()
        out[~self.valid[:, i]] = np.nan
        return out

    def __getitem__(self, item: slice | int | np.ndarray) -> "SkeletonSequence":
        """Frame selection: ``seq[10:50]``, ``seq[::2]``, ``seq[idx_array]``."""
        if isinstance(item, (int, np.integer)):
            item = slice(int(item), int(item) + 1 if int(item) != -1 else None)
        meta = dict(self.meta)
        if isinstance(item, slice):
            start, _, step = item.indices(self.num_frames)
            if step != 1:
                meta["fps_step"] = step
            fps = self.fps / step if step > 0 else self.fps
            meta["start_s"] = float(meta.get("start_s", 0.0)) + start / self.fps
        else:
            fps = self.fps
        return SkeletonSequence(self.coords[item].copy(), self.confidence[item].copy(), fps, self.layout, meta)

    def slice_time(self, start_s: float, end_s: float) -> "SkeletonSequence":
        """Frames whose time (relative to this sequence's first frame) lies in [start_s, end_s)."""
        a = max(0, int(np.ceil(start_s * self.fps - 1e-6)))
        b = min(self.num_frames, int(np.ceil(end_s * self.fps - 1e-6)))
        return self[a : max(a, b)]

    def copy(self) -> "SkeletonSequence":
        return SkeletonSequence(self.coords.copy(), self.confidence.copy(), self.fps, self.layout, dict(self.meta))

    def replace(self, **changes: Any) -> "SkeletonSequence":
        """A new sequence with some fields replaced (arrays are not copied)."""
        kw: dict[str, Any] = dict(
            coords=self.coords, confidence=self.confidence, fps=self.fps, layout=self.layout, meta=dict(self.meta)
        )
        kw.update(changes)
        return SkeletonSequence(**kw)

    # ---- arrays ---------------------------------------------------------------
    def to_array(self, with_confidence: bool = True, fill: Optional[float] = 0.0) -> np.ndarray:
        """(T, V, C[+1]) float32; invalid joints get ``fill`` (None keeps them as stored)."""
        coords = self.coords.copy()
        if fill is not None:
            coords[~self.valid] = fill
        if not with_confidence:
            return coords
        return np.concatenate([coords, self.confidence[..., None]], axis=-1)

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        layout: str,
        fps: float,
        has_confidence: bool = True,
        meta: Optional[dict[str, Any]] = None,
    ) -> "SkeletonSequence":
        """Inverse of :meth:`to_array`. Without a confidence channel, finite non-zero joints get confidence 1."""
        a = np.asarray(array, dtype=np.float32)
        if a.ndim != 3:
            raise DataError(f"array must be (T, V, C), got shape {a.shape}", field="array")
        if has_confidence:
            coords, conf = a[..., :-1], a[..., -1]
        else:
            coords = a
            conf = (np.all(np.isfinite(a), -1) & np.any(a != 0, -1)).astype(np.float32)
        return cls(coords.copy(), conf.copy(), fps, layout, dict(meta or {}))

    @classmethod
    def concatenate(cls, seqs: Iterable["SkeletonSequence"]) -> "SkeletonSequence":
        seqs = list(seqs)
        if not seqs:
            raise DataError("nothing to concatenate")
        first = seqs[0]
        for s in seqs[1:]:
            if s.layout != first.layout or s.fps != first.fps or s.num_channels != first.num_channels:
                raise DataError("sequences to concatenate differ in layout, fps or channels")
        return cls(
            np.concatenate([s.coords for s in seqs]),
            np.concatenate([s.confidence for s in seqs]),
            first.fps,
            first.layout,
            dict(first.meta),
        )

    # ---- files ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` (coords, confidence, fps, layout, meta as JSON)."""
        from mgreason.fileio import atomic_path

        path = Path(path)
        meta = json.dumps(self.meta, default=_json_default)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # never a truncated file under the final name
            np.savez_compressed(
                f,
                coords=self.coords,
                confidence=self.confidence,
                fps=np.float64(self.fps),
                layout=np.array(self.layout),
                meta=np.array(meta),
            )

    @classmethod
    def load(cls, path: str | Path) -> "SkeletonSequence":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in ("coords", "confidence", "fps", "layout") if k not in z.files]
                if missing:
                    raise DataError(f"not a skeleton sequence file (missing {', '.join(missing)})", file=path)
                meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
                return cls(z["coords"], z["confidence"], float(z["fps"]), str(z["layout"]), meta)
        except DataError as e:
            if e.file is None:
                raise DataError(e.message, file=path, field=e.field) from None
            raise
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise DataError(f"cannot read skeleton sequence: {e}", file=path) from None

    def __repr__(self) -> str:
        return (
            f"SkeletonSequence(layout={self.layout!r}, frames={self.num_frames}, joints={self.num_joints}, "
            f"channels={self.num_channels}, fps={self.fps:g}, valid={self.valid.mean():.0%})"
        )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"meta value of type {type(o).__name__} is not JSON-serialisable")
