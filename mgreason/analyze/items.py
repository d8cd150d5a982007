"""What ``mgreason analyze`` feeds the scenario loader: the recordings found in its inputs, their dialogue,
unlabelled items that point at them, the task scenario, and the conditions that make sense for
unlabelled input (without and with evidence; the shuffled control only with two recordings or more)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from mgreason.analyze.dialogue import read_dialogue
from mgreason.errors import DataError, MGReasonError
from mgreason.scenario.spec import BUILTIN_CONDITIONS, ConditionSpec, ScenarioSpec

__all__ = ["TASKS", "Recording", "task_scenario", "find_recordings", "attach_dialogue", "scenario_override"]

TASKS = ("emotion", "deception", "interview")
_DIALOGUE_SIDECARS = (".srt", ".vtt", ".dialogue.json", ".txt")


@dataclass
class Recording:
    """One input of ``analyze``: a recording (or a transcript JSON) and what was said in it."""

    path: Path
    id: str
    dialogue: Optional[list[dict[str, Any]]] = None
    dialogue_path: Optional[Path] = None
    fields: dict[str, Any] = field(default_factory=dict)


def task_scenario(task: str) -> Path:
    """The scenario file of a task (``scenarios/tasks/<task>.yaml`` of the checkout)."""
    if task not in TASKS:
        raise MGReasonError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}", field="--task")
    import mgreason

    p = Path(mgreason.__file__).resolve().parent.parent / "scenarios" / "tasks" / f"{task}.yaml"
    if not p.is_file():
        raise MGReasonError(
            "the task scenarios ship with the repository (scenarios/tasks/), which this installation lacks; "
            "pass a scenario file with --scenario",
            file=p,
            field="--task",
        )
    return p


def _is_openpose_dir(p: Path) -> bool:
    return p.is_dir() and next(p.glob("*_keypoints.json"), None) is not None


def _is_recording_dir(p: Path) -> bool:
    """A directory that is one recording: OpenPose output, or frame images (``transcribe`` reads both)."""
    if _is_openpose_dir(p):
        return True
    from mgreason.transcribe.inputs import input_kind

    return p.is_dir() and input_kind(p) == "frames"


def _is_recording_file(p: Path) -> bool:
    """What ``transcribe`` reads (its own :func:`~mgreason.transcribe.inputs.input_kind`), or a transcript JSON."""
    from mgreason.transcribe.inputs import input_kind

    name = p.name.lower()
    if name.endswith(".meta.json") or name.endswith(".dialogue.json") or name.startswith("."):
        return False
    if p.suffix.lower() == ".json":
        return True
    try:
        input_kind(p)
    except DataError:
        return False
    return True


def find_recordings(inputs: Sequence[Path]) -> list[Path]:
    """Every recording named or held by ``inputs``: a file, an OpenPose or frame-image directory, or a folder of
    them (videos, GIFs, skeleton files, transcript JSONs, OpenPose / frame directories; dialogue and metadata
    files skipped)."""
    out: list[Path] = []
    for p in inputs:
        p = Path(p)
        if not p.exists():
            raise DataError("no such file or directory", file=p)
        if p.is_file() or _is_recording_dir(p):
            out.append(p)
            continue
        found = sorted(c for c in p.iterdir() if (c.is_file() and _is_recording_file(c)) or _is_recording_dir(c))
        if not found:
            raise DataError(
                "no recording in this folder (videos, .npz/.npy/.pkl skeletons, transcript .json files or OpenPose "
                "directories)",
                file=p,
            )
        out += found
    return out


def _sidecar(path: Path) -> Optional[Path]:
    base = path.parent / (path.name if path.is_dir() else path.stem)
    for suf in _DIALOGUE_SIDECARS:
        cand = Path(str(base) + suf)
        if cand.is_file() and cand != path:
            return cand
    return None


def _unique_id(path: Path, seen: set[str]) -> str:
    stem = path.name if path.is_dir() else path.stem
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "recording"
    rid, k = base, 2
    while rid in seen:
        rid, k = f"{base}-{k}", k + 1
    seen.add(rid)
    return rid


def attach_dialogue(
    paths: Sequence[Path], dialogues: Sequence[Path], *, speaker: str = "Person"
) -> list[Recording]:
    """One :class:`Recording` per path, with its dialogue: the ``--dialogue`` files in the inputs' order
    (one for all when there is one recording), else a sidecar next to the recording with the same name
    (``clip.srt``, ``clip.vtt``, ``clip.dialogue.json``, ``clip.txt``)."""
    if dialogues and len(dialogues) != len(paths):
        raise MGReasonError(
            f"{len(dialogues)} --dialogue file(s) for {len(paths)} recording(s): give one per recording, in the same "
            "order, or put each next to its recording with the same name (clip.mp4 + clip.srt)",
            field="--dialogue",
        )
    seen: set[str] = set()
    out = []
    for i, p in enumerate(paths):
        dpath = Path(dialogues[i]) if dialogues else _sidecar(p)
        turns = read_dialogue(dpath, default_speaker=speaker) if dpath is not None else None
        out.append(Recording(path=p, id=_unique_id(p, seen), dialogue=turns, dialogue_path=dpath))
    return out


def analysis_conditions(spec: ScenarioSpec, n_recordings: int) -> list[Any]:
    """The scenario's conditions that make sense for unlabelled recordings: no evidence, the recording's own
    evidence (timeline / aggregate), and the shuffled control with two recordings or more; without_mg /
    with_mg are added when the scenario lacks a condition of their kind. Degraded ones are dropped."""
    keep: list[ConditionSpec] = []
    for c in spec.condition_specs():
        if c.evidence == "none" or c.transcript == "own" or (c.transcript == "shuffled" and n_recordings >= 2):
            keep.append(c)
    if not any(c.evidence == "none" for c in keep):
        keep.insert(0, BUILTIN_CONDITIONS["without_mg"])
    if not any(c.evidence != "none" and c.transcript == "own" for c in keep):
        keep.append(BUILTIN_CONDITIONS["with_mg"])
    if n_recordings >= 2 and not any(c.transcript == "shuffled" for c in keep):
        keep.append(BUILTIN_CONDITIONS["shuffled_mg"])
    return [c.name if BUILTIN_CONDITIONS.get(c.name) == c else c.model_dump(mode="json") for c in keep]


def scenario_override(
    spec: ScenarioSpec,
    recordings: Sequence[Recording],
    *,
    checkpoint: Optional[str] = None,
    context: Optional[str] = None,
    subject: Optional[str] = None,
) -> dict[str, Any]:
    """The top-level keys ``analyze`` replaces in the scenario: unlabelled items pointing at the recordings,
    ``transcripts: {source: recognizer}``, the conditions (:func:`analysis_conditions`), default comparisons."""
    rows = []
    for r in recordings:
        row: dict[str, Any] = {"id": r.id, "recording": str(Path(r.path).resolve())}
        if r.dialogue is not None:
            row["dialogue"] = r.dialogue
        if context:
            row["context"] = context
        if subject:
            row["subject"] = subject
        row.update(r.fields)
        rows.append(row)
    transcripts = {"source": "recognizer", "labels": spec.transcripts.labels}
    if spec.transcripts.show_confidence is not None:
        transcripts["show_confidence"] = spec.transcripts.show_confidence
    if checkpoint is not None:
        transcripts["checkpoint"] = str(checkpoint)
    return {
        "items": {"inline": rows, "fields": {"id": "id", "label": None, "transcript": None, "recording": "recording"}},
        "transcripts": transcripts,
        "conditions": analysis_conditions(spec, len(recordings)),
        "comparisons": None,
        "demonstrations": None,
    }
