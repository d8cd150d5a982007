"""Seeing what was recognized: transcript timelines, confusion matrices and skeleton clips.

* :mod:`mgreason.viz.timeline` — one lane per gesture class, predicted events shaded by confidence,
  annotated events in a paired lane, matches / false alarms / misses at a tIoU, per-frame class
  probabilities as a heat strip; the class confusion matrix of an evaluation.
* :mod:`mgreason.viz.clip` — a skeleton drawn with its layout's bones around a moment: a still
  contact sheet (PNG), a GIF or an MP4, captioned with the active event.
* :mod:`mgreason.viz.cli` — ``mgreason plot`` and ``mgreason show-clip``.

matplotlib (Agg backend) and Pillow only. Nothing here is imported at CLI load time.
"""

from __future__ import annotations

__all__ = [
    "plot_timeline",
    "write_timeline",
    "timeline_link",
    "confusion_at",
    "plot_confusion",
    "write_eval_plots",
    "contact_sheet",
    "write_clip",
]

_WHERE = {
    "plot_timeline": "timeline",
    "write_timeline": "timeline",
    "timeline_link": "timeline",
    "confusion_at": "timeline",
    "plot_confusion": "timeline",
    "write_eval_plots": "timeline",
    "contact_sheet": "clip",
    "write_clip": "clip",
}


def __getattr__(name: str):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'mgreason.viz' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"mgreason.viz.{mod}"), name)
