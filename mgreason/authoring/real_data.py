"""Write a real deception dataset (a reader's :class:`~mgreason.datasets.deception.DeceptionData`) as a scenario.

``mgreason datasets build-items dolos|rlt --root DIR --out OUT`` reads the release with
:mod:`mgreason.datasets.dolos` / :mod:`mgreason.datasets.rlt` and calls :func:`write_scenario`, which writes into
OUT:

* ``train.jsonl``, ``dev.jsonl``, ``test.jsonl``: the items of the speaker-disjoint split (train: where
  demonstrations come from; dev: for choosing k or prompts; test: run once), ``all.jsonl``: every clip;
* ``splits.json``: every split as item ids (the speaker-disjoint one, the release's protocols), with counts;
* ``prompts/deception_real/{system,user}.j2`` and ``<name>.yaml``, the scenario (test split; with ``shots`` k,
  k demonstrations from train), which validates and runs as written;
* ``README.txt``: what was read and repaired, and the commands to run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Optional

import yaml

from mgreason.datasets.deception import DeceptionData, describe_split, group_overlap
from mgreason.fileio import atomic_write_text
from mgreason.scenario.loader import write_items

TEMPLATES = Path(__file__).parent / "data" / "deception_real"

CONTEXT = {
    "dolos": "A contestant on a televised panel game tells the other players a short story about themselves; the "
    "story may be true, or made up for the game. The clip shows the contestant while telling it. The words are not "
    "available.",
    "rlt": "A person testifies or makes a statement in a real courtroom trial. The clip shows the person while "
    "speaking.",
}
DESCRIPTION = {
    "dolos": "DOLOS (Guo et al., ICCV 2023; real game-show clips): is the contestant's story true or made up? "
    "Evidence: the MUMIN codes annotated in the clip, as a timeline (seconds from the clip start). The codes "
    "carry almost no signal about the label (a grouped logistic regression on them is at the majority rate): a "
    "negative control for evidence gains.",
    "rlt": "Real-Life Trial (Pérez-Rosas et al., ICMI 2015; courtroom clips): is the statement truthful or "
    "deceptive? Evidence: the 39 MUMIN codes annotated per clip, without times (a list of observed behaviours).",
}


def _scenario_yaml(data: DeceptionData, shots: int, seed: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": data.name,
        "version": 1,
        "description": DESCRIPTION[data.dataset],
        "question": "Is the person's statement truthful or deceptive?",
        "labels": [
            {"name": "truthful", "description": "the statement is true", "aliases": ["truth", "true", "honest"]},
            {"name": "deceptive", "description": "the statement is false: the person lies",
             "aliases": ["deception", "lie", "lying", "false"]},
        ],
        "prompts": {"system": "prompts/deception_real/system.j2", "user": "prompts/deception_real/user.j2"},
        "items": {
            "path": "test.jsonl",
            # group: the evidence ceiling never puts one speaker in two folds; text: only what the person said
            "fields": {"id": "id", "label": "label", "transcript": "transcript", "group": "group",
                       "text": ["statement"] if data.has_dialogue else []},
            "train_path": "train.jsonl",  # the ceiling is fitted on the train split, tested on these items
        },
        "transcripts": {"source": "inline", "labels": "strict"},
        "conditions": ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"],
        "scoring": {"mode": "logprobs"},
        "generation": {"temperature": 0.0, "max_new_tokens": 4, "seed": 0},
    }
    if shots:
        spec["demonstrations"] = {"path": "train.jsonl", "k": shots, "seed": seed}
    return spec


def write_scenario(data: DeceptionData, out: str | Path, *, shots: int = 0, seed: int = 0, command: Optional[str] = None) -> dict[str, Path]:
    """Write the items, splits, templates and scenario of ``data`` into ``out`` (see the module doc)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    by_id = {it["id"]: it for it in data.items}
    for part, ids in data.splits["speaker"].items():
        items = [{**by_id[i], "context": CONTEXT[data.dataset], "split": part} for i in ids]
        written[part] = write_items(items, out / f"{part}.jsonl")
    written["all"] = write_items([{**it, "context": CONTEXT[data.dataset]} for it in data.items], out / "all.jsonl")
    splits = {
        name: {"parts": parts, "summary": describe_split(data.items, parts), "speakers_in_two_parts": group_overlap(data.items, parts)}
        for name, parts in data.splits.items()
    }
    atomic_write_text(out / "splits.json", json.dumps(splits, indent=1) + "\n")
    written["splits"] = out / "splits.json"
    tdir = out / "prompts" / "deception_real"
    tdir.mkdir(parents=True, exist_ok=True)
    for name in ("system.j2", "user.j2"):
        shutil.copyfile(TEMPLATES / name, tdir / name)
    spec = _scenario_yaml(data, shots, seed)
    header = (
        f"# Written by: {command or 'mgreason datasets build-items ' + data.dataset}\n"
        "# Derived from third-party data: keep this folder out of version control.\n"
        "# Prompts never show the clip name, participant, episode, show, verdict or gender (they stay in the\n"
        "# items for analysis). Items: the test part of a seeded speaker-disjoint split (splits.json).\n"
    )
    scenario = out / f"{data.name}.yaml"
    atomic_write_text(scenario, header + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100))
    written["scenario"] = scenario
    readme = [
        f"{data.name}: {len(data.items)} clips.",
        *data.notes,
        f"speaker-disjoint split (seed {seed}): {splits['speaker']['summary']}; speakers in two parts: "
        f"{splits['speaker']['speakers_in_two_parts']}",
        *(f"{name}: {s['summary']}; speakers in two parts: {s['speakers_in_two_parts']}"
          for name, s in splits.items() if name != "speaker"),
        "",
        f"mgreason validate {scenario}",
        f"mgreason run-scenario {scenario} --backend mock",
    ]
    atomic_write_text(out / "README.txt", "\n".join(readme) + "\n")
    written["readme"] = out / "README.txt"
    return written


__all__ = ["CONTEXT", "DESCRIPTION", "TEMPLATES", "write_scenario"]
