"""Small geometry helpers shared by the synth tests."""

from __future__ import annotations

import numpy as np


def head_center(coords: np.ndarray) -> np.ndarray:
    """(..., 2) mean of nose, eyes and ears, ignoring NaN."""
    return np.nanmean(coords[..., [0, 8, 9, 10, 11], :], axis=-2)


def shoulder_width(coords: np.ndarray) -> float:
    return float(np.nanmedian(np.linalg.norm(coords[..., 2, :] - coords[..., 5, :], axis=-1)))
