"""Online recognition of long recordings into timestamped micro-gesture transcripts.

* :mod:`.inputs` - OpenPose directories, npy/npz arrays, PYSKL pickle entries and video (via
  :mod:`.video`, the optional MediaPipe extra) into one skeleton sequence; usability checks and gap
  detection.
* per-frame class scores come from :meth:`mgreason.recognizer.Recognizer.frame_scores` (computed once
  over the whole recording, convolutional in time, chunked with overlap); :mod:`.online` holds the
  naive one-forward-per-window baseline.
* :mod:`.segments` - smoothing, hysteresis, label runs, merging, minimum duration -> ``Transcript``.
* :mod:`mgreason.transcript_metrics` (below this package: pure transcript metrics) - F1 and mAP at tIoU
  0.1/0.3/0.5, segmental F1, Edit.
* :mod:`.pipeline` - all of it for one recording, plus the metadata sidecar.

Importing this package is cheap: torch and MediaPipe are imported only where they are used.
"""

from __future__ import annotations

from mgreason.lazy import lazy_exports


__all__ = ["SegmentParams", "extract_segments", "scores_to_transcript", "load_input", "evaluate_paths"]

_LAZY = {
    "SegmentParams": "mgreason.transcribe.segments",
    "extract_segments": "mgreason.transcribe.segments",
    "scores_to_transcript": "mgreason.transcribe.segments",
    "load_input": "mgreason.transcribe.inputs",
    "evaluate_paths": "mgreason.transcript_metrics",
}


__getattr__ = lazy_exports(__name__, _LAZY)
