"""``mgreason new-scenario NAME [--dir DIR]``: a scenario that validates and runs immediately.

Writes three things, all relative to ``DIR`` (default: the current directory)::

    DIR/NAME.yaml                 the scenario (commented: every section says what to change)
    DIR/prompts/NAME/system.j2    system prompt template
    DIR/prompts/NAME/user.j2      user prompt template
    DIR/data/NAME.jsonl           3 example items (dialogue + inline MG transcript)

The scenario is self-contained (its paths are relative to the YAML), so the directory can
live anywhere, inside or outside a checkout of this repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mgreason.errors import MGReasonError

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

_YAML = """\
# Scenario {name!r}, scaffolded by `mgreason new-scenario`.
# Authoring guide and field reference: docs/scenarios.md (or `mgreason schema`).
# Check it with:   mgreason validate {yaml_name}
# See a prompt:    mgreason show-prompt {yaml_name} --item ex-1 --condition with_mg
# Run it:          mgreason run-scenario {yaml_name}          (add --limit 2 for a quick try)
#
# The 3 items in data/{name}.jsonl are EXAMPLES written by the scaffold, not real data:
# replace them with your own (keep the columns the templates use), then set `synthetic: false`.
id: {name}
version: 1                       # bump whenever prompts or items change, so results stay comparable
description: >
  TODO: one or two sentences on the task. (Scaffolded example: is a speaker relaxed or
  tense, judged from what they say and, when provided, from their micro-gestures?)
question: Is the speaker relaxed or tense?
labels:                          # the closed answer set; in logprobs mode the model is scored on these words
  - name: relaxed
    description: "at ease and comfortable with the conversation"
    aliases: [at ease, comfortable, calm]
  - name: tense
    description: "uneasy, nervous or uncomfortable"
    aliases: [uneasy, nervous, uncomfortable]
prompts:                         # Jinja templates, relative to this file (variables: see docs/scenarios.md)
  system: prompts/{name}/system.j2
  user: prompts/{name}/user.j2
items:
  path: data/{name}.jsonl        # JSONL, JSON or CSV; or `inline: [...]`
  fields: {{id: id, label: label, transcript: transcript}}
transcripts:
  source: inline                 # `path` when the transcript column holds transcript JSON files
                                 # (e.g. written by `mgreason transcribe`)
conditions: [without_mg, with_mg, shuffled_mg]
scoring:
  mode: logprobs                 # or `generate` (a short answer parsed to a label)
generation:
  temperature: 0.0
  max_new_tokens: 4
  seed: 0
synthetic: true                  # the example items are made up; set to false for real data
"""

_SYSTEM = """\
You read what a person says and, when it is provided, a transcript of the micro-gestures they made: small, mostly unconscious body movements such as scratching the neck, folding the arms or rubbing the eyes. From this you infer how the person feels.
The possible answers are:
{% for label in labels %}
- {{ label.name }}: {{ label.description }}
{% endfor %}
{% if answer_format == "one_word" %}
Reply with the answer only, in one word.
{% endif %}
"""

_USER = """\
{# Variables: item (every column of the item), question, labels, label_names, answer_format, condition,
   evidence (rendered MG transcript, or none without evidence), evidence_form, evidence_events.
   Keep the evidence after the shared context: all conditions then share the prompt prefix. #}
Setting: {{ item.context }}

What was said:
{% for turn in item.dialogue %}
{{ turn.speaker }}: {{ turn.text }}
{% endfor %}
{% if evidence is not none %}

Micro-gestures of the speaker ({{ "start–end, gesture" if evidence_form == "timeline" else "per gesture: count and total duration" }}):
{{ evidence }}
{% endif %}

Question: {{ question }}
{% if answer_format == "one_word" %}
Answer with one word: {{ label_names | join(" or ") }}.
{% else %}
Answer:
{% endif %}
"""


def _ev(start: float, end: float, label: str) -> dict:
    from mgreason.taxonomy import IMIGUE

    return {"start_s": start, "end_s": end, "label": label, "label_id": IMIGUE.by_name(label).label_id}


def example_items(name: str) -> list[dict]:
    note = f"EXAMPLE item written by `mgreason new-scenario {name}`; not real data, replace it"
    ctx = "Two colleagues talk in a meeting room about a project review that is coming up."
    return [
        {
            "id": "ex-1",
            "label": "tense",
            "note": note,
            "context": ctx,
            "dialogue": [
                {"speaker": "Colleague", "text": "Are you ready for the review on Friday?"},
                {"speaker": "Speaker", "text": "Mostly. There are a couple of slides I still need to finish."},
            ],
            "transcript": {
                "id": "ex-1", "duration_s": 20.0, "taxonomy": "imigue",
                "events": [_ev(2.1, 4.0, "touching or scratching neck"), _ev(6.5, 7.3, "pressing lips"),
                           _ev(11.0, 14.2, "rubbing or holding hands")],
            },
        },
        {
            "id": "ex-2",
            "label": "relaxed",
            "note": note,
            "context": ctx,
            "dialogue": [
                {"speaker": "Colleague", "text": "Are you ready for the review on Friday?"},
                {"speaker": "Speaker", "text": "I think so. The numbers look fine and the team did good work."},
            ],
            "transcript": {
                "id": "ex-2", "duration_s": 18.0, "taxonomy": "imigue",
                "events": [_ev(1.5, 4.8, "illustrative hand gestures"), _ev(9.0, 10.1, "moving torso")],
            },
        },
        {
            "id": "ex-3",
            "label": "tense",
            "note": note,
            "context": ctx,
            "dialogue": [
                {"speaker": "Colleague", "text": "Did you hear the budget might be cut?"},
                {"speaker": "Speaker", "text": "Yes. We'll see what happens."},
            ],
            "transcript": {
                "id": "ex-3", "duration_s": 15.0, "taxonomy": "imigue",
                "events": [_ev(0.8, 3.5, "folding arms"), _ev(5.2, 6.9, "touching or scratching facial parts")],
            },
        },
    ]


def scaffold_paths(name: str, directory: str | Path = ".") -> dict[str, Path]:
    d = Path(directory)
    return {
        "scenario": d / f"{name}.yaml",
        "system": d / "prompts" / name / "system.j2",
        "user": d / "prompts" / name / "user.j2",
        "items": d / "data" / f"{name}.jsonl",
    }


def new_scenario(name: str, directory: str | Path = ".", force: bool = False) -> dict[str, Path]:
    """Write a new scenario (YAML, templates, 3 example items); return the paths written.

    Refuses to overwrite existing files unless ``force``.
    """
    if not NAME_RE.match(name):
        raise MGReasonError(
            f"invalid scenario name {name!r}: use a letter followed by letters, digits, '_' or '-' (at most 64)",
            field="NAME",
        )
    paths = scaffold_paths(name, directory)
    if not force:
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing:
            raise MGReasonError(
                f"refusing to overwrite {', '.join(existing)} (choose another NAME or --dir, or pass --force)",
                field="new-scenario",
            )
    contents = {
        "scenario": _YAML.format(name=name, yaml_name=paths["scenario"].as_posix()),
        "system": _SYSTEM,
        "user": _USER,
        "items": "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in example_items(name)),
    }
    for key, p in paths.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(contents[key], encoding="utf-8")
    return paths


# --------------------------------------------------------------------------------------
# an existing scenario, with recognizer transcripts instead of its own evidence
# --------------------------------------------------------------------------------------
def _rel(target: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def with_transcripts(
    source: str | Path,
    name: str,
    transcripts_dir: str | Path,
    directory: str | Path = ".",
    force: bool = False,
) -> dict[str, Path]:
    """Derive scenario ``NAME`` from ``source`` whose evidence is read from transcript JSON files.

    Everything but the evidence is kept: question, labels, the *same* prompt templates,
    conditions, scoring, and every item column. Item ``ID``'s transcript becomes
    ``TRANSCRIPTS_DIR/ID.json`` (e.g. written by ``mgreason transcribe``), read with
    ``transcripts.source: path``. Writes ``DIR/NAME.yaml`` and ``DIR/data/NAME.jsonl``.
    """
    import yaml

    from mgreason.scenario.loader import _resolve, load_scenario

    if not NAME_RE.match(name):
        raise MGReasonError(
            f"invalid scenario name {name!r}: use a letter followed by letters, digits, '_' or '-' (at most 64)",
            field="NAME",
        )
    source = Path(source)
    tdir = Path(transcripts_dir)
    if not tdir.is_dir():
        raise MGReasonError("transcripts directory not found", file=tdir, field="--transcripts")
    sc = load_scenario(source)
    spec = sc.spec
    column = spec.items.fields.transcript or "transcript"
    missing = [it.id for it in sc.items if not (tdir / f"{it.id}.json").is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MGReasonError(
            f"no transcript for item(s) {shown}: expected one JSON file per item, named ITEM_ID.json",
            file=tdir,
            field="--transcripts",
        )
    d = Path(directory)
    paths = {"scenario": d / f"{name}.yaml", "items": d / "data" / f"{name}.jsonl"}
    if not force:
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing:
            raise MGReasonError(f"refusing to overwrite {', '.join(existing)} (pass --force)", field="new-scenario")

    data = spec.model_dump(mode="json", exclude_none=True)
    data["id"] = name
    data["description"] = (
        f"{spec.id} v{spec.version} ({source.as_posix()}) with its MG evidence read from the transcript JSON files "
        f"in {tdir.as_posix()}. " + (spec.description or "")
    ).strip()

    def where(p: Path) -> str:  # absolute if the user gave an absolute path, else relative to the new YAML
        return p.resolve().as_posix() if source.is_absolute() else _rel(p, d)

    data["prompts"] = {k: where(_resolve(source.parent, v)) for k, v in spec.prompts.model_dump(exclude_none=True).items()}
    data["items"] = {"path": f"data/{name}.jsonl", "fields": {**spec.items.fields.model_dump(), "transcript": column}}
    data["transcripts"] = {
        "source": "path",
        "base_dir": _rel(tdir, d),
        **({"show_confidence": spec.transcripts.show_confidence} if spec.transcripts.show_confidence is not None else {}),
    }
    rows = []
    for it in sc.items:
        row = {k: v for k, v in it.fields.items() if k != column}
        row[column] = f"{it.id}.json"
        rows.append(row)
    header = (
        f"# Derived by `mgreason new-scenario {name} --from {source.as_posix()} --transcripts {tdir.as_posix()}`:\n"
        f"# the scenario {spec.id!r} with each item's MG evidence read from {tdir.as_posix()}/ITEM_ID.json\n"
        "# (transcripts.source: path). Prompts are the original scenario's templates.\n"
    )
    paths["items"].parent.mkdir(parents=True, exist_ok=True)
    paths["scenario"].write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    paths["items"].write_text(
        "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows), encoding="utf-8"
    )
    load_scenario(paths["scenario"])  # fail now, not at run time, if anything is off
    return paths
