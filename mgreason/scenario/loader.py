"""Load a scenario: YAML → validated spec → items with gold labels (or declared unlabelled) and transcripts
(inline, transcript files, or recordings turned into transcripts by a :class:`~mgreason.scenario.recordings.RecordingResolver`).

Every user mistake becomes a :class:`~mgreason.errors.ScenarioError` naming the
file and the field (or item) at fault.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from mgreason.configio import describe_validation_error, format_validation_error
from mgreason.configio import read_yaml as _read_yaml
from mgreason.errors import DatasetMissingError, ScenarioError
from mgreason.fileio import atomic_write_text, read_input_bytes, require_input_file
from mgreason.scenario.recordings import NO_RESOLVER_HINT, RecordingResolver
from mgreason.scenario.spec import ConditionSpec, ScenarioSpec
from mgreason.transcript import Transcript


@dataclass
class Item:
    id: str
    gold: Optional[str]  # None: an unlabelled item (``items.fields.label: null``)
    transcript: Optional[Transcript]
    fields: dict[str, Any]  # every column of the item, passed to templates as ``item``
    transcript_path: Optional[Path] = None  # the transcript's file (``source: path``, or the cached one of a recording)
    recording: Optional[Path] = None  # ``transcripts: {source: recognizer}``: the recording transcribed
    provenance: Optional[dict[str, Any]] = None  # the resolver's record of that transcription (hashes, checkpoint)


@dataclass
class Scenario:
    spec: ScenarioSpec
    path: Path  # the scenario file
    items: list[Item]
    system_template: Optional[Path]
    user_template: Path
    sha256: str  # hash of the scenario file, its templates and items
    items_path: Optional[Path] = None
    conditions: list[ConditionSpec] = field(default_factory=list)
    demo_items: list[Item] = field(default_factory=list)  # the demonstrations' split (spec.demonstrations)
    train_items: list[Item] = field(default_factory=list)  # items.train_path: where the evidence ceiling is fitted

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def labels(self) -> list[str]:
        return self.spec.label_names

    @property
    def labelled(self) -> bool:
        return self.spec.labelled

    def transcripts_provenance(self) -> Optional[dict[str, Any]]:
        """For items that are recordings: what ``config.json`` records (the checkpoint's identity, and per item
        the recording's and the transcript's sha256); None for other scenarios."""
        if self.spec.transcripts.source != "recognizer":
            return None
        items = {it.id: it.provenance or {} for it in self.items}
        checkpoints = {json.dumps(p.get("checkpoint"), sort_keys=True) for p in items.values() if p.get("checkpoint")}
        return {
            "source": "recognizer",
            "checkpoint": json.loads(next(iter(checkpoints))) if len(checkpoints) == 1 else None,
            "items": {k: {f: v for f, v in p.items() if f != "checkpoint"} for k, p in items.items()},
        }

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise ScenarioError(f"no item with id {item_id!r}", file=self.path, field="items")


def read_yaml(path: Path) -> Any:
    """A scenario-side YAML file (bounded safe load, see :mod:`mgreason.configio`); errors are ScenarioErrors."""
    return _read_yaml(path, error=ScenarioError)


def load_spec(path: str | Path, override: Optional[dict[str, Any]] = None) -> ScenarioSpec:
    """The validated spec; ``override``: top-level keys that replace the file's (e.g. ``items``, ``conditions``)."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a YAML mapping", file=path)
    if override:
        data = {**data, **override}
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as e:
        loc, msg = describe_validation_error(e)
        raise ScenarioError(msg, file=path, field=loc or None) from None


def _resolve(base: Path, rel: str) -> Path:
    p = Path(os.path.expanduser(os.path.expandvars(rel)))
    return p if p.is_absolute() else (base / p)


def _drop_nulls(value: Any) -> Any:
    """A JSON ``null`` is a field the item does not have: drop it, so it is undefined in templates
    (an error under StrictUndefined) instead of rendering as "None"."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _no_items(items_path: Path) -> ScenarioError:
    return ScenarioError("the items file has no items", file=items_path, field="items")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (write a finite number, or leave the field out)")


class JSONNumber(float):
    """A JSON number with a fraction or an exponent, kept as written: it computes as a float in
    templates, but renders (``str``) as its literal, so ``3.5`` stays ``3.5`` and ``1e2`` stays ``1e2``.
    (JSON integers are Python ints, exact at any size.)"""

    __slots__ = ("literal",)

    def __new__(cls, literal: str) -> "JSONNumber":
        obj = super().__new__(cls, literal)
        obj.literal = literal
        return obj

    def __str__(self) -> str:
        return self.literal

    def __reduce__(self) -> Any:
        return (JSONNumber, (self.literal,))


# Items, inline transcripts and JSON configs are bounded in nesting depth (deeper JSON is an error
# line, not Python's RecursionError).
MAX_JSON_DEPTH = 64
MAX_ITEMS_BYTES = 1 << 30  # an items file (JSONL / JSON / CSV)


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (0 for a scalar), computed without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v if isinstance(x, (dict, list)))
    return deepest


def parse_json_text(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for user data: numbers kept as written (:class:`JSONNumber`), NaN/Infinity
    refused, nesting bounded by ``max_depth``. Raises ``ValueError`` (a ``json.JSONDecodeError``
    for syntax errors)."""
    try:
        obj = json.loads(text, parse_constant=_refuse_constant, parse_float=JSONNumber)
    except RecursionError:
        obj = None
        too_deep = True
    else:
        too_deep = json_depth(obj) > max_depth
    if too_deep:
        raise ValueError(f"JSON nested more than {max_depth} levels deep")
    return obj


def _parse_json_items(items_path: Path, fmt: str, text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if fmt == "jsonl":
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = parse_json_text(line)
            except json.JSONDecodeError as e:
                raise ScenarioError(f"line {lineno}, column {e.colno}: invalid JSON: {e.msg}", file=items_path) from None
            except ValueError as e:  # NaN / Infinity, too deep
                raise ScenarioError(f"line {lineno}: invalid JSON: {e}", file=items_path) from None
            if not isinstance(obj, dict):
                raise ScenarioError(f"line {lineno}: an item must be a JSON object", file=items_path) from None
            rows.append(obj)
        return rows
    try:
        obj = parse_json_text(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"line {e.lineno}, column {e.colno}: invalid JSON: {e.msg}", file=items_path) from None
    except ValueError as e:
        raise ScenarioError(f"invalid JSON: {e}", file=items_path) from None
    if isinstance(obj, dict):  # columns: {"id": [...], "label": [...], ...}
        cols = list(obj.items())
        if not all(isinstance(v, list) for _, v in cols) or len({len(v) for _, v in cols}) > 1:
            raise ScenarioError(
                "a JSON items file is a list of objects (or an object of equally long columns)", file=items_path
            )
        n = len(cols[0][1]) if cols else 0
        return [{k: v[i] for k, v in cols} for i in range(n)]
    if not isinstance(obj, list):
        raise ScenarioError("a JSON items file is a list of objects", file=items_path)
    for k, it in enumerate(obj):
        if not isinstance(it, dict):
            raise ScenarioError(f"item #{k + 1}: an item must be a JSON object", file=items_path)
    return obj


def _parse_csv_items(items_path: Path, text: str) -> list[dict[str, Any]]:
    """CSV cells are text, kept exactly as written (ids such as "007", "NA", an empty cell)."""
    import io

    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            raise _no_items(items_path)
        seen: set[str] = set()
        for col in header:
            if col in seen:
                raise ScenarioError(f"column {col!r} appears twice in the header", file=items_path, field="line 1")
            seen.add(col)
        rows: list[dict[str, Any]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise ScenarioError(
                    f"{len(row)} cells but the header has {len(header)} columns", file=items_path,
                    field=f"line {reader.line_num}",
                )
            rows.append(dict(zip(header, row)))
        return rows
    except csv.Error as e:
        raise ScenarioError(f"cannot read items (csv): {e}", file=items_path) from None


def _load_rows(spec: ScenarioSpec, scenario_path: Path) -> tuple[list[dict[str, Any]], Optional[Path]]:
    if spec.items.inline is not None:
        return [dict(r) for r in spec.items.inline], None
    assert spec.items.path is not None
    items_path = _resolve(scenario_path.parent, spec.items.path)
    if not items_path.exists():
        if spec.items.obtain:
            raise DatasetMissingError(
                f"items file not found: {items_path}. {spec.items.obtain.strip()}", file=scenario_path, field="items.path"
            )
        raise ScenarioError(f"items file not found: {items_path}", file=scenario_path, field="items.path")
    fmt = spec.items.format or {".jsonl": "jsonl", ".json": "json", ".csv": "csv"}.get(items_path.suffix.lower())
    if fmt is None:
        raise ScenarioError(
            f"cannot tell the format of {items_path.name}; set items.format to jsonl, json or csv",
            file=scenario_path,
            field="items.format",
        )
    data = read_input_bytes(
        items_path, error=ScenarioError, file=scenario_path, field="items.path", max_bytes=MAX_ITEMS_BYTES
    )
    # Read with the standard library, not a dataframe reader: values reach templates as written
    # (JSON ints exact at any size, JSON decimals as their literal, CSV cells as text).
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"not UTF-8 text (byte {e.start})", file=items_path) from None
    if not text.strip():
        raise _no_items(items_path)
    rows = _parse_csv_items(items_path, text) if fmt == "csv" else _parse_json_items(items_path, fmt, text)
    rows = [_drop_nulls(r) for r in rows]
    if not rows:
        raise _no_items(items_path)
    return rows, items_path


MAX_TRANSCRIPT_BYTES = 64 << 20  # one transcript file (a day of 30 fps events is a few MB)


def read_transcript_file(tpath: Path, *, file: Path, field: str) -> Transcript:
    """A transcript JSON file under the path rule, bounded in size and depth; every failure is one
    :class:`ScenarioError` naming ``file`` and ``field``."""
    data = read_input_bytes(tpath, error=ScenarioError, file=file, field=field, max_bytes=MAX_TRANSCRIPT_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"transcript {tpath} is not UTF-8 text (byte {e.start})", file=file, field=field) from None
    try:
        value = parse_json_text(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(
            f"invalid transcript {tpath}: line {e.lineno}, column {e.colno}: invalid JSON: {e.msg}", file=file, field=field
        ) from None
    except ValueError as e:
        raise ScenarioError(f"invalid transcript {tpath}: {e}", file=file, field=field) from None
    try:
        return Transcript.model_validate(value)
    except ValidationError as e:
        raise ScenarioError(f"invalid transcript {tpath}: {format_validation_error(e)}", file=file, field=field) from None


def _parse_transcript(
    value: Any, spec: ScenarioSpec, where: Path, item_id: str, base_dir: Path
) -> Optional[Transcript]:
    if value is None or value == "":
        return None
    column = spec.items.fields.transcript
    try:
        if spec.transcripts.source == "path":
            tpath = _resolve(base_dir, str(value))
            if not tpath.exists():
                raise ScenarioError(f"transcript file not found: {tpath}", file=where, field=f"item {item_id}: {column}")
            return read_transcript_file(tpath, file=where, field=f"item {item_id}: {column}")
        if isinstance(value, str):
            value = parse_json_text(value)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
            if isinstance(value.get("events"), list):
                value["events"] = [
                    {k: v for k, v in ev.items() if v is not None} if isinstance(ev, dict) else ev
                    for ev in value["events"]
                ]
            value.setdefault("id", item_id)
        if json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        return Transcript.model_validate(value)
    except ScenarioError:
        raise
    except ValidationError as e:
        raise ScenarioError(
            f"invalid transcript: {format_validation_error(e)}", file=where, field=f"item {item_id}: {column}"
        ) from None
    except (ValueError, OSError, RecursionError) as e:  # JSONDecodeError is a ValueError
        msg = "JSON nested too deep" if isinstance(e, RecursionError) else str(e)
        raise ScenarioError(f"invalid transcript: {msg}", file=where, field=f"item {item_id}: {column}") from None


def _check_labels(transcript: Transcript, spec: ScenarioSpec, where: Path, item_id: str) -> None:
    """An unknown taxonomy or gesture label would reach the prompt as text: refuse it (``strict``,
    the default) or warn (``warn``); ``transcripts.labels: any`` allows free-text labels."""
    problems = transcript.label_problems()
    if not problems:
        return
    field = f"item {item_id}: {spec.items.fields.transcript}"
    if spec.transcripts.labels == "strict":
        raise ScenarioError(
            f"{problems[0]} (transcripts.labels: warn or any to allow them)", file=where, field=field
        )
    import warnings

    from mgreason.errors import MGReasonWarning

    warnings.warn(MGReasonWarning(f"{where}: {field}: {problems[0]}"), stacklevel=2)


def _check_degrade_labels(spec: ScenarioSpec, conditions: list[ConditionSpec], items: list[Item], path: Path) -> None:
    """A degraded condition's ``confusion_matrix`` can put its labels into transcripts: under
    ``transcripts.labels: strict`` (and ``warn``) they obey the rule the items' transcripts obey."""
    if spec.transcripts.labels == "any":
        return
    from mgreason.transcript import MGEvent

    taxonomies = sorted({it.transcript.taxonomy for it in items if it.transcript is not None}, key=str)
    for k, cond in enumerate(spec.conditions):
        c = conditions[k]
        params = c.degrade
        matrix = getattr(params, "confusion_matrix", None) if params is not None else None
        if not matrix:
            continue
        names = sorted({*matrix, *(lab for row in matrix.values() for lab in row)})
        for tax in taxonomies or [None]:
            probe = Transcript(id="confusion_matrix", taxonomy=tax, events=[MGEvent(start_s=0, end_s=0, label=n) for n in names])
            problems = probe.label_problems()
            if problems:
                msg = f"{problems[0]} (transcripts.labels: warn or any to allow them)"
                field = f"conditions.{k}.degrade.confusion_matrix"
                if spec.transcripts.labels == "strict":
                    raise ScenarioError(msg, file=path, field=field)
                import warnings

                from mgreason.errors import MGReasonWarning

                warnings.warn(MGReasonWarning(f"{path}: {field}: {msg}"), stacklevel=2)
                return


def _hash_files(paths: list[Path], extra: bytes = b"") -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(read_input_bytes(p, error=ScenarioError))
    h.update(extra)
    return h.hexdigest()


def _template_closure(template: Path) -> list[Path]:
    """The files ``template`` can read through ``{% include %}`` / ``{% import %}`` / ``{% extends %}``
    (transitively; the renderer's loader is confined to the template's directory). A reference
    computed at render time (``{% include name %}``) could be any file of that directory, so then
    every file in it is listed."""
    import jinja2
    from jinja2 import meta

    root = template.parent.resolve()
    loader = jinja2.FileSystemLoader(str(root))
    env = jinja2.Environment(loader=loader)
    seen: dict[str, Path] = {}
    todo = [template.name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            source, filename, _ = loader.get_source(env, name)
            refs = list(meta.find_referenced_templates(env.parse(source)))
        except jinja2.TemplateNotFound:
            continue  # reported by the renderer when (if) it is reached
        except Exception:  # a syntax error: the renderer reports it; hash the file as it is
            refs = []
            filename = str(root / name)
        seen[name] = Path(filename)
        if any(r is None for r in refs):
            return sorted({Path(filename) for filename in _all_files(root)} | set(seen.values()))
        todo.extend(r for r in refs if isinstance(r, str))
    return [seen[k] for k in sorted(seen)]


def _all_files(root: Path, limit: int = 10_000) -> list[str]:
    out: list[str] = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p):
                out.append(p)
                if len(out) > limit:
                    raise ScenarioError(
                        f"a computed {{% include %}} could read any of more than {limit:,} files under {root}; "
                        "name included templates literally, or keep templates in a directory of their own",
                        file=root,
                    )
    return out


def scenario_inputs(scenario: "Scenario") -> list[Path]:
    """Every file whose content can change a prompt of ``scenario``, beyond the scenario file, its two
    templates and its items / demonstrations files: templates reached by ``{% include %}`` (and
    ``import`` / ``extends``) and the transcript files of ``transcripts: {source: path}`` (of the items,
    the demonstrations and ``items.train_path``, which the evidence ceiling reads). They are part of the
    scenario's fingerprint (``Scenario.sha256``)."""
    files: list[Path] = []
    for t in (scenario.user_template, scenario.system_template):
        if t is not None:
            files += [p for p in _template_closure(t) if p.resolve() != t.resolve()]
    if scenario.spec.transcripts.source == "path":  # recordings: their transcript hashes are in the fingerprint
        for it in [*scenario.items, *scenario.demo_items, *scenario.train_items]:
            if it.transcript_path is not None:
                files.append(it.transcript_path)
    return files


def _fingerprint_more(base_hex: str, files: list[Path]) -> str:
    """The fingerprint of the scenario's direct files, extended with ``files`` (length-prefixed path
    and bytes, in a stable order). A scenario without such files keeps the fingerprint it had."""
    if not files:
        return base_hex
    h = hashlib.sha256(b"mgreason-scenario-inputs-v1\0" + bytes.fromhex(base_hex))
    seen: set[str] = set()
    for p in files:
        key = str(p)
        if key in seen:
            continue
        seen.add(key)
        data = read_input_bytes(p, error=ScenarioError)
        name = key.encode("utf-8", "surrogateescape")
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def check_template_path(base: Path, rel: str, *, scenario_path: Path, field: str) -> Path:
    """A template a scenario names, under the path rule (a regular file, not in /proc, /sys, /dev)."""
    p = _resolve(base, rel)
    if not p.exists():
        raise ScenarioError(f"template not found: {p}", file=scenario_path, field=field)
    return require_input_file(p, error=ScenarioError, file=scenario_path, field=field, max_bytes=MAX_TEMPLATE_BYTES)


MAX_TEMPLATE_BYTES = 4 << 20


def load_scenario(
    path: str | Path,
    *,
    recordings: Optional[RecordingResolver] = None,
    override: Optional[dict[str, Any]] = None,
    items_path: Optional[str | Path] = None,
) -> Scenario:
    """Load and fully validate a scenario (spec, templates, items, transcripts).

    ``recordings`` turns the items' recordings into transcripts (``transcripts: {source: recognizer}``);
    ``override`` replaces top-level keys of the file (``mgreason analyze`` gives its own ``items`` and
    ``conditions`` to a task scenario); it is part of the scenario's sha256. ``items_path``: read the items from
    this file instead of ``items.path`` (``run-scenario --items``, ``adapt --train``), with the scenario's columns."""
    path = Path(path)
    spec = load_spec(path, override)
    base = path.parent
    if items_path is not None:
        spec = spec.model_copy(update={"items": spec.items.model_copy(
            update={"path": str(Path(items_path).resolve()), "inline": None, "format": None})})

    user_t = check_template_path(base, spec.prompts.user, scenario_path=path, field="prompts.user")
    system_t = None
    if spec.prompts.system is not None:
        system_t = check_template_path(base, spec.prompts.system, scenario_path=path, field="prompts.system")

    rows, items_path = _load_rows(spec, path)
    conditions = spec.condition_specs()
    items = _parse_items(rows, spec, path, items_path, conditions, recordings)
    _check_degrade_labels(spec, conditions, items, path)
    if any(c.transcript == "shuffled" for c in conditions) and len(items) < 2:
        raise ScenarioError("a shuffled-transcript condition needs at least 2 items", file=path, field="conditions")

    demo_items: list[Item] = []
    demo_path: Optional[Path] = None
    if spec.demonstrations is not None:
        d = spec.demonstrations
        demo_spec = spec.model_copy(
            update={"items": spec.items.model_copy(update={"path": d.path, "inline": None, "format": d.format})}
        )
        try:
            demo_rows, demo_path = _load_rows(demo_spec, path)
        except ScenarioError as e:
            raise ScenarioError(e.message.replace("items file", "demonstrations file"), file=e.file, field="demonstrations.path") from None
        demo_items = _parse_items(demo_rows, spec, path, demo_path, conditions, recordings)
        if len(demo_items) < d.k + 1:
            raise ScenarioError(
                f"k is {d.k} but the demonstrations file has {len(demo_items)} item(s) "
                f"(k + 1 are needed so that a query from the same split is never its own demonstration)",
                file=path,
                field="demonstrations.k",
            )

    train_items: list[Item] = []
    train_path: Optional[Path] = None
    if spec.items.train_path is not None:
        train_spec = spec.model_copy(
            update={
                "items": spec.items.model_copy(
                    update={"path": spec.items.train_path, "inline": None, "format": spec.items.train_format}
                )
            }
        )
        resolved = _resolve(path.parent, spec.items.train_path)
        if resolved.is_file():
            train_rows, train_path = _load_rows(train_spec, path)
            train_items = _parse_items(train_rows, spec, path, train_path, conditions)
        else:  # only the evidence ceiling reads it: warn, and the ceiling is cross-validated instead
            import warnings

            from mgreason.errors import MGReasonWarning

            warnings.warn(
                MGReasonWarning(
                    f"{path}: items.train_path: training items file not found: {resolved}; the evidence ceiling is "
                    "cross-validated on the items instead"
                ),
                stacklevel=2,
            )

    files = [path, user_t] + ([system_t] if system_t else []) + ([items_path] if items_path else [])
    files += [demo_path] if demo_path else []
    files += [train_path] if train_path else []
    # what is not in the files: the override, and the transcripts made from recordings
    extra = json.dumps(override, sort_keys=True, default=str).encode() if override else b""
    for it in items + demo_items:
        if it.provenance is not None:
            extra += f"{it.id}:{it.provenance.get('transcript_sha256')}".encode()
    scenario = Scenario(
        spec=spec,
        path=path,
        items=items,
        system_template=system_t,
        user_template=user_t,
        sha256=_hash_files(files, extra),
        items_path=items_path,
        conditions=conditions,
        demo_items=demo_items,
        train_items=train_items,
    )
    # every other file that can change a prompt (included templates, transcript files) is hashed too,
    # so a resumed run or sweep refuses results made from other evidence
    scenario.sha256 = _fingerprint_more(scenario.sha256, scenario_inputs(scenario))
    return scenario


def _parse_items(
    rows: list[dict[str, Any]],
    spec: ScenarioSpec,
    path: Path,
    items_path: Optional[Path],
    conditions: list,
    recordings: Optional[RecordingResolver] = None,
) -> list[Item]:
    """Validated items (id, gold label or none, transcript) from the rows of an items file."""
    base = path.parent
    where = items_path or path
    fmap = spec.items.fields
    labels = {lab.name for lab in spec.labels}
    needs_transcript = any(c.evidence != "none" for c in conditions)
    tbase = _resolve(base, spec.transcripts.base_dir) if spec.transcripts.base_dir else (items_path or path).parent
    from_recordings = spec.transcripts.source == "recognizer"

    def has(row: dict[str, Any], col: str) -> bool:
        return col in row and row[col] is not None and str(row[col]).strip() != ""

    labelled_rows = [n for n, row in enumerate(rows) if fmap.label is not None and has(row, fmap.label)]
    items: list[Item] = []
    pending: list[tuple[Item, Path]] = []  # items whose transcript is a recording, resolved together below
    seen: set[str] = set()
    for n, row in enumerate(rows):
        if not has(row, fmap.id):
            raise ScenarioError(f"item #{n + 1} has no {fmap.id!r} column", file=where, field=f"items[{n}].{fmap.id}")
        item_id = str(row[fmap.id])
        if item_id in seen:
            raise ScenarioError(f"duplicate item id {item_id!r}", file=where, field=f"items[{n}].{fmap.id}")
        seen.add(item_id)
        gold: Optional[str] = None
        if fmap.label is not None:
            if not has(row, fmap.label):
                if labelled_rows:
                    other = str(rows[labelled_rows[0]].get(fmap.id))
                    raise ScenarioError(
                        f"item {item_id!r} has no label but item {other!r} has one: labelled and unlabelled items "
                        "cannot be mixed in one scenario (give every item a label, or declare all of them unlabelled "
                        "with items.fields.label: null)",
                        file=where,
                        field=f"item {item_id}: {fmap.label}",
                    )
                raise ScenarioError(
                    f"item #{n + 1} has no {fmap.label!r} column (for items without gold labels set "
                    "items.fields.label: null)",
                    file=where,
                    field=f"items[{n}].{fmap.label}",
                )
            gold = str(row[fmap.label]).strip()
            if gold not in labels:
                raise ScenarioError(
                    f"label {gold!r} is not in the scenario's label set ({', '.join(sorted(labels))})",
                    file=where,
                    field=f"item {item_id}: {fmap.label}",
                )
        transcript = None
        if from_recordings:
            if not has(row, fmap.recording):
                raise ScenarioError(
                    f"item has no {fmap.recording!r} column (transcripts.source: recognizer reads a recording per item)",
                    file=where,
                    field=f"item {item_id}: {fmap.recording}",
                )
            rec = Path(os.path.abspath(_resolve(tbase, str(row[fmap.recording]))))
            if not rec.exists():
                raise ScenarioError(f"recording not found: {rec}", file=where, field=f"item {item_id}: {fmap.recording}")
            item = Item(id=item_id, gold=gold, transcript=None, fields=row, recording=rec)
            pending.append((item, rec))
            items.append(item)
            continue
        if fmap.transcript is not None:
            transcript = _parse_transcript(row.get(fmap.transcript), spec, where, item_id, tbase)
        if transcript is not None and spec.transcripts.labels != "any":
            _check_labels(transcript, spec, where, item_id)
        if transcript is None and needs_transcript:
            raise ScenarioError(
                f"item has no transcript, but conditions {', '.join(c.name for c in conditions if c.evidence != 'none')} "
                "need one",
                file=where,
                field=f"item {item_id}: {fmap.transcript}",
            )
        tpath = None
        if transcript is not None and spec.transcripts.source == "path":
            tpath = _resolve(tbase, str(row.get(fmap.transcript)))
        items.append(Item(id=item_id, gold=gold, transcript=transcript, fields=row, transcript_path=tpath))
    if not items:
        raise ScenarioError("the scenario has no items", file=where, field="items")
    if pending:
        _resolve_recordings(pending, spec, path, where, recordings)
    return items


def _resolve_recordings(
    pending: list[tuple[Item, Path]], spec: ScenarioSpec, path: Path, where: Path, recordings: Optional[RecordingResolver]
) -> None:
    """Every recording's transcript, from the resolver (one call, so a model loads once)."""
    from mgreason.errors import MGReasonError

    column = spec.items.fields.recording
    if recordings is None:
        raise ScenarioError(NO_RESOLVER_HINT, file=path, field="transcripts.source")
    try:
        got = recordings.resolve([rec for _, rec in pending], checkpoint=spec.transcripts.checkpoint, base_dir=path.parent)
    except ScenarioError:
        raise
    except MGReasonError as e:
        bad = next((it for it, rec in pending if e.file is not None and Path(e.file) == rec), None)
        field = f"item {bad.id}: {column}" if bad is not None else (e.field or "transcripts")
        raise ScenarioError(f"{e.message} ({e.file})" if e.file else e.message, file=where, field=field) from None
    for (item, _), res in zip(pending, got, strict=True):
        item.transcript = res.transcript
        item.transcript_path = res.transcript_path
        item.provenance = dict(res.provenance)
        if spec.transcripts.labels != "any":
            _check_labels(res.transcript, spec, where, item.id)


def write_items(items: Any, path: str | Path) -> Path:
    """Items as JSONL, one object per line (the format ``items.path`` reads), written atomically."""
    path = Path(path)
    atomic_write_text(path, "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))
    return path
