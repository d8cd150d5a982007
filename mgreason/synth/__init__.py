"""Synthetic micro-gesture generator on the ``imigue22`` skeleton.

:func:`generate_clips` makes labelled clips (iMiGUE label ids, subject ids, subject
held-out splits); :func:`generate_session` makes long recordings with gestures at
known times and the ground-truth transcript. The motion engine is :mod:`.engine`; the
gesture classes are in :mod:`.gestures` (each registers itself where it is defined).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgreason.lazy import lazy_exports

if TYPE_CHECKING:  # the names below are loaded on first use (PEP 562), so importing mgreason.synth.cli is cheap
    from mgreason.synth.generate import (
        ClipSet,
        GeneratorConfig,
        Session,
        generate_clips,
        generate_session,
        resolve_classes,
        subject_split,
    )
    from mgreason.synth.gestures import MOTIONS, supported_raw_ids


__all__ = [
    "ClipSet",
    "GeneratorConfig",
    "Session",
    "generate_clips",
    "generate_session",
    "resolve_classes",
    "subject_split",
    "MOTIONS",
    "supported_raw_ids",
]


_LAZY = {name: "mgreason.synth.generate" for name in __all__} | {
    "MOTIONS": "mgreason.synth.gestures",
    "supported_raw_ids": "mgreason.synth.gestures",
}


__getattr__ = lazy_exports(__name__, _LAZY)
