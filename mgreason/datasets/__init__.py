"""Adapters that turn third-party micro-gesture datasets into transcripts and scenario items.

* :mod:`.imigue_labels` - the iMiGUE annotation reader (videos, annotations, ground-truth transcripts).
* :mod:`.imigue` - iMiGUE emotion items: the official split, recognized transcripts, gold labels.
* :mod:`.dolos`, :mod:`.rlt` - the real deception datasets (MUMIN codes, :mod:`mgreason.mumin`) as items;
  :mod:`.deception` - their labels, speaker groups and speaker-disjoint splits.

Readers return items; the authoring side writes items files and scenarios
(:mod:`mgreason.authoring.real_data`, ``mgreason datasets build-items``).

The datasets themselves are never shipped with mgreason: users point the adapters
(and the ``mgreason <dataset> ...`` commands) at their own copies. The names below are
loaded on first use, so importing the reader does not import the scenario layer.
"""

from __future__ import annotations

from mgreason.lazy import lazy_exports


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
    "load_dolos",
    "load_rlt",
]

_LAZY = {
    "IMIGUE_FPS": "mgreason.datasets.imigue_labels",
    "IMIGUE_OBTAIN": "mgreason.datasets.imigue_labels",
    "IMigueDataset": "mgreason.datasets.imigue_labels",
    "VideoInfo": "mgreason.datasets.imigue_labels",
    "load_imigue": "mgreason.datasets.imigue_labels",
    "EmotionSplit": "mgreason.datasets.imigue",
    "build_items": "mgreason.datasets.imigue",
    "load_splits": "mgreason.datasets.imigue",
    "read_transcripts_dir": "mgreason.datasets.imigue",
    "load_dolos": "mgreason.datasets.dolos",
    "load_rlt": "mgreason.datasets.rlt",
}


__getattr__ = lazy_exports(__name__, _LAZY)
