"""Adapters that turn third-party micro-gesture datasets into transcripts and scenario items.

The datasets themselves are never shipped with mgreason: users point the adapters
(and the ``mgreason <dataset> ...`` commands) at their own copies.
"""

from __future__ import annotations

from mgreason.datasets.imigue import (
    IMIGUE_FPS,
    IMIGUE_OBTAIN,
    EmotionSplit,
    IMigueDataset,
    VideoInfo,
    build_items,
    load_imigue,
    load_splits,
    read_transcripts_dir,
    write_items,
)

__all__ = [
    "IMIGUE_FPS",
    "IMIGUE_OBTAIN",
    "EmotionSplit",
    "IMigueDataset",
    "VideoInfo",
    "build_items",
    "load_imigue",
    "load_splits",
    "read_transcripts_dir",
    "write_items",
]
