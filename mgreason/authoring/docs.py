"""The field reference of ``docs/scenarios.md``, generated from the pydantic scenario model.

The reference is the JSON Schema of :class:`mgreason.scenario.spec.ScenarioSpec`
(what ``mgreason schema`` prints) turned into one Markdown table per object. It lives in
``docs/scenarios.md`` between two marker comments; a test regenerates it and fails if the
file is out of date. Update the file with::

    python -m mgreason.authoring.docs            # rewrite the block in docs/scenarios.md
    python -m mgreason.authoring.docs --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel

from mgreason.scenario.spec import ScenarioSpec

BEGIN = "<!-- BEGIN FIELD REFERENCE: generated from mgreason.scenario.spec by `python -m mgreason.authoring.docs`; do not edit by hand -->"
END = "<!-- END FIELD REFERENCE -->"
DEFAULT_DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"

_INTRO = {
    "ScenarioSpec": "The top level of a scenario YAML file.",
    "LabelSpec": "One answer of the closed label set.",
    "PromptsSpec": "Jinja template files; paths are relative to the scenario file.",
    "ItemsSpec": "Where the items come from. Give exactly one of `path` or `inline`.",
    "FieldMap": "Which item columns hold the id, the gold label and the transcript (and, for the evidence "
    "ceiling, the group and the text). Every column is passed to the templates as `item`.",
    "TranscriptsSpec": "How the transcript column is read.",
    "ConditionSpec": "A condition written as an object instead of a built-in name.",
    "ScoringSpec": "How the model's answer becomes a prediction.",
    "GenerationSpec": "Generation parameters, passed explicitly to the backend (never the model's own defaults).",
}


# Used only where the pydantic field has no description of its own.
_FALLBACK = {
    ("ScenarioSpec", "description"): "free text about the task, for people (not shown to the model unless a template uses it)",
    ("ScenarioSpec", "prompts"): "the prompt templates",
    ("ScenarioSpec", "items"): "the items: gold labels, transcripts and any columns the templates use",
    ("ScenarioSpec", "transcripts"): "how transcripts are read",
    ("ScenarioSpec", "scoring"): "how answers are scored",
    ("ScenarioSpec", "generation"): "generation parameters",
    ("ItemsSpec", "fields"): "which columns hold id, label, transcript, group and text",
    ("ConditionSpec", "name"): "the condition's name in samples and summaries",
    ("ConditionSpec", "description"): "free text, for people",
    ("GenerationSpec", "temperature"): "sampling temperature; 0 = greedy decoding",
    ("GenerationSpec", "max_new_tokens"): "generate mode: most tokens generated per answer",
    ("GenerationSpec", "top_p"): "nucleus sampling mass (1.0 = off)",
    ("GenerationSpec", "seed"): "sampling seed",
    ("GenerationSpec", "stop"): "generate mode: strings that end the answer",
}


def _models(root: type[BaseModel] = ScenarioSpec) -> dict[str, type[BaseModel]]:
    """Every pydantic model reachable from ``root``, by class name."""
    found: dict[str, type[BaseModel]] = {}

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp.__name__ in found:
                return
            found[tp.__name__] = tp
            for f in tp.model_fields.values():
                visit(f.annotation)
            return
        for arg in typing.get_args(tp):
            visit(arg)

    visit(root)
    return found


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    return f"ref-{name.lower()}"


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    t = schema.get("type")
    if t == "array":
        if "prefixItems" in schema:
            return "[" + ", ".join(_type(s) for s in schema["prefixItems"]) + "]"
        return f"list of {_type(schema.get('items', {}))}"
    if t == "object":
        return "mapping"
    if t is None:
        return "any"
    return {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "null": "null"}.get(t, t)


def _constraints(schema: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, fmt in (
        ("pattern", "matches `{}`"),
        ("minLength", "length ≥ {}"),
        ("minItems", "at least {} entries"),
        ("maxItems", "at most {} entries"),
        ("minimum", "≥ {}"),
        ("exclusiveMinimum", "> {}"),
        ("maximum", "≤ {}"),
        ("exclusiveMaximum", "< {}"),
    ):
        if key in schema:
            out.append(fmt.format(schema[key]))
    for sub in schema.get("anyOf", []):
        out += _constraints(sub)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        out += [f"each {c}" for c in _constraints(schema["items"])]
    if "prefixItems" in schema:  # a tuple: its length is in the type already
        out = [c for c in out if "entries" not in c]
    return out


def _default(model: Optional[type[BaseModel]], name: str, schema: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" in schema:
        return f"`{json.dumps(schema['default'])}`"
    if model is not None and name in model.model_fields:
        value = model.model_fields[name].get_default(call_default_factory=True)
        if isinstance(value, BaseModel):
            return "(all defaults)"
        return f"`{json.dumps(value, default=str)}`"
    return "—"


def _paths(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Definition name → the YAML paths it appears at (``labels[]``, ``items.fields``...)."""
    defs = schema.get("$defs", {})
    where: dict[str, list[str]] = {}

    def refs(s: Any) -> list[tuple[str, str]]:  # (ref name, suffix)
        if not isinstance(s, dict):
            return []
        if "$ref" in s:
            return [(s["$ref"].split("/")[-1], "")]
        out: list[tuple[str, str]] = []
        for sub in s.get("anyOf", []):
            out += refs(sub)
        if s.get("type") == "array":
            out += [(n, "[]" + suf) for n, suf in refs(s.get("items"))]
            for sub in s.get("prefixItems", []):
                out += [(n, "[]" + suf) for n, suf in refs(sub)]
        return out

    def walk(obj: dict[str, Any], prefix: str) -> None:
        for pname, pschema in obj.get("properties", {}).items():
            for name, suf in refs(pschema):
                path = f"{prefix}{pname}{suf}"
                if path not in where.setdefault(name, []):
                    where[name].append(path)
                    walk(defs[name], path + ".")

    walk(schema, "")
    return where


def field_reference_markdown() -> str:
    """One table per object of the scenario format, from ``ScenarioSpec.model_json_schema()``."""
    schema = ScenarioSpec.model_json_schema()
    defs = schema.get("$defs", {})
    models = _models()
    where = _paths(schema)
    order = ["ScenarioSpec"] + [n for n in where if n in defs] + sorted(n for n in defs if n not in where)
    lines = [
        "Generated from the pydantic model `mgreason.scenario.spec.ScenarioSpec` (`mgreason schema` prints the same "
        "as JSON Schema). Unknown fields are errors everywhere.",
        "",
    ]
    for name in order:
        obj = schema if name == "ScenarioSpec" else defs[name]
        title = "top level" if name == "ScenarioSpec" else ", ".join(f"`{p}`" for p in where.get(name, [])) or name
        lines += [f'<a id="{_anchor(name)}"></a>', "", f"### {title} ({name})", ""]
        intro = _INTRO.get(name) or (obj.get("description") or "").strip()
        if intro:
            lines += [_cell(intro), ""]
        lines += ["| field | type | default | constraints | description |", "|---|---|---|---|---|"]
        required = set(obj.get("required", []))
        for fname, fschema in obj.get("properties", {}).items():
            lines.append(
                "| `{}` | {} | {} | {} | {} |".format(
                    fname,
                    _type(fschema),
                    _default(models.get(name), fname, fschema, fname in required),
                    _cell("; ".join(_constraints(fschema))) or "",
                    _cell(fschema.get("description") or _FALLBACK.get((name, fname), "")),
                )
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_doc(text: str) -> str:
    """``text`` with the block between the markers replaced by the current field reference."""
    if BEGIN not in text or END not in text:
        raise ValueError("the field reference markers are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{field_reference_markdown()}\n{END}{tail}"


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT_DOC)
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date, change nothing")
    args = ap.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    new = render_doc(text)
    if args.check:
        if new != text:
            print(f"{args.path}: the field reference is out of date; run python -m mgreason.authoring.docs", file=sys.stderr)
            return 1
        print(f"{args.path}: up to date")
        return 0
    if new != text:
        args.path.write_text(new, encoding="utf-8")
        print(f"updated {args.path}")
    else:
        print(f"{args.path}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
