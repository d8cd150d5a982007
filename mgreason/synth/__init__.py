"""Synthetic micro-gesture generator on the ``imigue22`` skeleton.

:func:`generate_clips` makes labelled clips (iMiGUE label ids, subject ids, subject
held-out splits); :func:`generate_session` makes long recordings with gestures at
known times and the ground-truth transcript. See :mod:`.motions` for the classes.
"""

from mgreason.synth.generate import (
    ClipSet,
    GeneratorConfig,
    Session,
    generate_clips,
    generate_session,
    resolve_classes,
    subject_split,
)
from mgreason.synth.motions import MOTIONS, supported_raw_ids

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
