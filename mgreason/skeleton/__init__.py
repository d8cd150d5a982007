"""Skeleton data layer: joint layouts, one sequence type, loaders/writers, preprocessing.

Layouts (``imigue22``, ``miga35``, ``openpose25``, ``openpose137``, ``ntu25``, ``coco17``,
``mediapipe33``, ``mediapipe75``) are data in :mod:`.layouts`; :mod:`.mapping` converts
between them by joint name. Every loader returns a :class:`SkeletonSequence`.
"""

from mgreason.skeleton.io_openpose import read_openpose_dir, write_openpose_dir
from mgreason.skeleton.io_pyskl import annotation_to_sequence, read_pyskl, sequence_to_annotation, write_pyskl
from mgreason.skeleton.io_stgcn import read_stgcn, write_stgcn
from mgreason.skeleton.labels import read_frame_labels, read_smg_labels, write_frame_labels
from mgreason.skeleton.layouts import LAYOUTS, Layout, get_layout, layout_names
from mgreason.skeleton.mapping import build_mapping, map_sequence
from mgreason.skeleton.preprocess import fill_missing, normalize, preprocess, resample, sanitize, smooth
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = [
    "LAYOUTS",
    "Layout",
    "get_layout",
    "layout_names",
    "SkeletonSequence",
    "build_mapping",
    "map_sequence",
    "read_openpose_dir",
    "write_openpose_dir",
    "read_pyskl",
    "write_pyskl",
    "sequence_to_annotation",
    "annotation_to_sequence",
    "read_stgcn",
    "write_stgcn",
    "read_frame_labels",
    "read_smg_labels",
    "write_frame_labels",
    "sanitize",
    "fill_missing",
    "normalize",
    "smooth",
    "resample",
    "preprocess",
]
