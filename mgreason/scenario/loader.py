"""Load a scenario: YAML → validated spec → items with gold labels and transcripts.

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
from mgreason.fileio import atomic_write_text
from mgreason.scenario.spec import ConditionSpec, ScenarioSpec
from mgreason.transcript import Transcript


@dataclass
class Item:
    id: str
    gold: str
    transcript: Optional[Transcript]
    fields: dict[str, Any]  # every column of the item, passed to templates as ``item``
    transcript_path: Optional[Path] = None  # the transcript's file (``transcripts: {source: path}``)


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

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise ScenarioError(f"no item with id {item_id!r}", file=self.path, field="items")


def read_yaml(path: Path) -> Any:
    """A scenario-side YAML file (bounded safe load, see :mod:`mgreason.configio`); errors are ScenarioErrors."""
    return _read_yaml(path, error=ScenarioError)


def load_spec(path: str | Path) -> ScenarioSpec:
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a YAML mapping", file=path)
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as e:
        loc, msg = describe_validation_error(e)
        raise ScenarioError(msg, file=path, field=loc or None) from None


def _resolve(base: Path, rel: str) -> Path:
    p = Path(os.path.expanduser(os.path.expandvars(rel)))
    return p if p.is_absolute() else (base / p)


def _drop_nulls(value: Any) -> Any:
    """datasets gives every row every key seen in any row (nested ones too), filled with None.
    Drop them, so a field an item does not have is undefined in templates (an error under
    StrictUndefined) instead of rendering as "None"."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _no_items(items_path: Path) -> ScenarioError:
    return ScenarioError("the items file has no items", file=items_path, field="items")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (write a finite number, or leave the field out)")


def _precheck(items_path: Path, fmt: str, data: bytes) -> None:
    """What ``datasets`` reports badly, checked on the bytes first: an empty file ("no items"
    instead of StopIteration), and a JSON / JSONL syntax error with the file's own line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"not UTF-8 text (byte {e.start})", file=items_path) from None
    if not text.strip():
        raise _no_items(items_path)
    if fmt == "jsonl":
        n = 0
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_constant=_refuse_constant)
            except json.JSONDecodeError as e:
                raise ScenarioError(f"line {lineno}, column {e.colno}: invalid JSON: {e.msg}", file=items_path) from None
            except ValueError as e:  # NaN / Infinity: not JSON, and read as null by datasets
                raise ScenarioError(f"line {lineno}: invalid JSON: {e}", file=items_path) from None
            if not isinstance(obj, dict):
                raise ScenarioError(f"line {lineno}: an item must be a JSON object", file=items_path) from None
            n += 1
        if n == 0:
            raise _no_items(items_path)
    elif fmt == "json":
        try:
            obj = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as e:
            raise ScenarioError(f"line {e.lineno}, column {e.colno}: invalid JSON: {e.msg}", file=items_path) from None
        except ValueError as e:
            raise ScenarioError(f"invalid JSON: {e}", file=items_path) from None
        if obj == [] or obj == {}:
            raise _no_items(items_path)
        if isinstance(obj, list):
            for k, it in enumerate(obj):
                if not isinstance(it, dict):
                    raise ScenarioError(f"item #{k + 1}: an item must be a JSON object", file=items_path)
    elif fmt == "csv":
        rows = csv.reader(text.splitlines())
        next(rows, None)  # header
        if not any(any(cell.strip() for cell in row) for row in rows):
            raise _no_items(items_path)


def _load_rows(spec: ScenarioSpec, scenario_path: Path) -> tuple[list[dict[str, Any]], Optional[Path]]:
    if spec.items.inline is not None:
        return [dict(r) for r in spec.items.inline], None
    assert spec.items.path is not None
    items_path = _resolve(scenario_path.parent, spec.items.path)
    if not items_path.is_file():
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
    try:
        data = items_path.read_bytes()
    except OSError as e:
        raise ScenarioError(f"cannot read: {e.strerror or e}", file=items_path) from None
    _precheck(items_path, fmt, data)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets

        # datasets logs the real parse error at ERROR level before raising a generic one: keep
        # stderr to our one line, and report the root cause instead.
        datasets.logging.set_verbosity(datasets.logging.CRITICAL)
        datasets.disable_progress_bars()
        builder = "json" if fmt in ("jsonl", "json") else "csv"
        kwargs: dict[str, Any] = {}
        if builder == "csv":
            # CSV cells are text: keep them exactly as written (ids such as "007", text such as
            # "NA" or an empty cell), instead of pandas' guessed numbers and missing values.
            with items_path.open(newline="", encoding="utf-8-sig") as f:
                header = next(csv.reader(f), [])
            kwargs = {"features": datasets.Features({c: datasets.Value("string") for c in header}), "na_filter": False}
        # datasets' cache identifies a local file by path, size and modification time: a file
        # edited with the same size and a restored mtime (cp -p, rsync, tar) would give the old
        # items while scenario_sha256 hashes the new bytes. A cache directory per content hash
        # makes every load match the bytes hashed.
        cache_dir = Path(datasets.config.HF_DATASETS_CACHE) / "mgreason-items" / hashlib.sha256(data).hexdigest()[:32]
        ds = datasets.load_dataset(
            builder, data_files=str(items_path), split="train", cache_dir=str(cache_dir), **kwargs
        )
        rows = [_drop_nulls(r) for r in ds.to_list()]
    except Exception as e:  # datasets wraps parse errors in many types
        while e.__cause__ is not None and str(e.__cause__).strip():
            e = e.__cause__  # type: ignore[assignment]
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ScenarioError(f"cannot read items ({fmt}): {msg}", file=items_path) from None
    if not rows:
        raise _no_items(items_path)
    return rows, items_path


def _parse_transcript(
    value: Any, spec: ScenarioSpec, where: Path, item_id: str, base_dir: Path
) -> Optional[Transcript]:
    if value is None or value == "":
        return None
    column = spec.items.fields.transcript
    try:
        if spec.transcripts.source == "path":
            tpath = _resolve(base_dir, str(value))
            if not tpath.is_file():
                raise ScenarioError(f"transcript file not found: {tpath}", file=where, field=f"item {item_id}: {column}")
            return Transcript.read(tpath)
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
            if isinstance(value.get("events"), list):
                value["events"] = [
                    {k: v for k, v in ev.items() if v is not None} if isinstance(ev, dict) else ev
                    for ev in value["events"]
                ]
            value.setdefault("id", item_id)
        return Transcript.model_validate(value)
    except ScenarioError:
        raise
    except ValidationError as e:
        raise ScenarioError(
            f"invalid transcript: {format_validation_error(e)}", file=where, field=f"item {item_id}: {column}"
        ) from None
    except (json.JSONDecodeError, OSError) as e:
        raise ScenarioError(f"invalid transcript: {e}", file=where, field=f"item {item_id}: {column}") from None


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


def _hash_files(paths: list[Path], extra: bytes = b"") -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    h.update(extra)
    return h.hexdigest()


def load_scenario(path: str | Path, items_path: Optional[str | Path] = None) -> Scenario:
    """Load and fully validate a scenario (spec, templates, items, transcripts). ``items_path``: read the items from
    this file instead of ``items.path`` (``run-scenario --items``, ``adapt --train``), with the scenario's columns."""
    path = Path(path)
    spec = load_spec(path)
    base = path.parent
    if items_path is not None:
        spec = spec.model_copy(update={"items": spec.items.model_copy(
            update={"path": str(Path(items_path).resolve()), "inline": None, "format": None})})

    user_t = _resolve(base, spec.prompts.user)
    if not user_t.is_file():
        raise ScenarioError(f"template not found: {user_t}", file=path, field="prompts.user")
    system_t = None
    if spec.prompts.system is not None:
        system_t = _resolve(base, spec.prompts.system)
        if not system_t.is_file():
            raise ScenarioError(f"template not found: {system_t}", file=path, field="prompts.system")

    rows, items_path = _load_rows(spec, path)
    conditions = spec.condition_specs()
    items = _parse_items(rows, spec, path, items_path, conditions)
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
        demo_items = _parse_items(demo_rows, spec, path, demo_path, conditions)
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
    return Scenario(
        spec=spec,
        path=path,
        items=items,
        system_template=system_t,
        user_template=user_t,
        sha256=_hash_files(files),
        items_path=items_path,
        conditions=conditions,
        demo_items=demo_items,
        train_items=train_items,
    )


def _parse_items(
    rows: list[dict[str, Any]], spec: ScenarioSpec, path: Path, items_path: Optional[Path], conditions: list
) -> list[Item]:
    """Validated items (id, gold label, transcript) from the rows of an items file."""
    base = path.parent
    where = items_path or path
    fmap = spec.items.fields
    labels = {lab.name for lab in spec.labels}
    needs_transcript = any(c.evidence != "none" for c in conditions)
    tbase = _resolve(base, spec.transcripts.base_dir) if spec.transcripts.base_dir else (items_path or path).parent

    items: list[Item] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        for col in (fmap.id, fmap.label):
            if col not in row or row[col] is None or str(row[col]).strip() == "":
                raise ScenarioError(f"item #{n + 1} has no {col!r} column", file=where, field=f"items[{n}].{col}")
        item_id = str(row[fmap.id])
        if item_id in seen:
            raise ScenarioError(f"duplicate item id {item_id!r}", file=where, field=f"items[{n}].{fmap.id}")
        seen.add(item_id)
        gold = str(row[fmap.label]).strip()
        if gold not in labels:
            raise ScenarioError(
                f"label {gold!r} is not in the scenario's label set ({', '.join(sorted(labels))})",
                file=where,
                field=f"item {item_id}: {fmap.label}",
            )
        transcript = None
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
    return items


def write_items(items: Any, path: str | Path) -> Path:
    """Items as JSONL, one object per line (the format ``items.path`` reads), written atomically."""
    path = Path(path)
    atomic_write_text(path, "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))
    return path
