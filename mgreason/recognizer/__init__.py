"""Skeleton micro-gesture recogniser: an ST-GCN++-style backbone, the spatio-temporal balanced
fusion plug-in, MG-aware augmentations, training and checkpoints.

Inference in three lines::

    from mgreason.recognizer import Recognizer
    rec = Recognizer.load()                 # the bundled default checkpoint, tiny-real298 (CPU)
    scores = rec.classify(seq)              # one clip  -> ClipScores (probs over rec.labels)
    dense = rec.frame_scores(long_seq)      # any length -> FrameScores (per-frame probs, features, gate)

Heavy modules (torch) are imported lazily so ``import mgreason.recognizer`` stays cheap.
"""

from __future__ import annotations

from mgreason.lazy import lazy_exports


__all__ = [
    "Recognizer",
    "ClipScores",
    "FrameScores",
    "RecognizerModel",
    "build_model",
    "load_checkpoint",
    "save_checkpoint",
    "BUNDLED_CHECKPOINT",
    "bundled_checkpoint_path",
]

_LAZY = {
    "Recognizer": "mgreason.recognizer.inference",
    "ClipScores": "mgreason.recognizer.inference",
    "FrameScores": "mgreason.recognizer.inference",
    "bundled_checkpoint_path": "mgreason.recognizer.inference",
    "BUNDLED_CHECKPOINT": "mgreason.recognizer.inference",
    "RecognizerModel": "mgreason.recognizer.model",
    "build_model": "mgreason.recognizer.model",
    "load_checkpoint": "mgreason.recognizer.checkpoint",
    "save_checkpoint": "mgreason.recognizer.checkpoint",
}


__getattr__ = lazy_exports(__name__, _LAZY)
