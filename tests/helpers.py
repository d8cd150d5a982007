"""Shared helpers for the foundation tests: small scenarios written into tmp_path, and the CLI
run in-process or as a real subprocess. Everything here uses the mock backend only."""

from __future__ import annotations

import copy
import csv
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from mgreason.taxonomy import IMIGUE

REPO = Path(__file__).resolve().parents[1]
SHIPPED_SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml")) + sorted((REPO / "scenarios").glob("*.yml"))

LABELS = ("positive", "negative")

SYSTEM_TPL = (
    "You judge emotions. Possible answers: "
    "{% for label in labels %}{{ label.name }}{% if not loop.last %}, {% endif %}{% endfor %}."
)
# Shared context first, evidence after it (as the README recommends), question last.
USER_TPL = """Context: {{ item.context }}
Player: {{ item.text }}
{% if evidence is not none %}
EVIDENCE ({{ evidence_form }}):
{{ evidence }}
{% endif %}
Question: {{ question }}"""

QUESTION = "Is the player's emotional state positive or negative?"


def make_transcript(k: int, source: str = "annotation", with_id: bool = False) -> dict[str, Any]:
    """A transcript unique to item ``k``: different classes and times for every k."""
    events = []
    for j in range(2):
        start = round(1.0 + 3.1 * k + 1.7 * j, 1)
        ev = {
            "start_s": start,
            "end_s": round(start + 1.2 + 0.1 * j, 1),
            "label": IMIGUE.names[(3 * k + j) % 31],
            "label_id": (3 * k + j) % 31,
            "source": source,
        }
        if source == "recognizer":
            ev["confidence"] = round(0.5 + 0.04 * k + 0.01 * j, 2)
        events.append(ev)
    t: dict[str, Any] = {"fps": 25.0, "duration_s": 120.0, "taxonomy": "imigue", "events": events}
    if with_id:
        t["id"] = f"it{k:02d}"
    return t


def make_items(n: int = 6, source: str = "annotation") -> list[dict[str, Any]]:
    return [
        {
            "id": f"it{k:02d}",
            "label": LABELS[k % 2],
            "context": f"Press conference number {k}.",
            "text": f"Line {k}: it was a long day.",
            "transcript": make_transcript(k, source),
        }
        for k in range(n)
    ]


def base_spec(items_entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "tmp_scenario",
        "version": 1,
        "question": QUESTION,
        "labels": [
            {"name": "positive", "description": "feels good"},
            {"name": "negative", "description": "feels bad"},
        ],
        "prompts": {"system": "prompts/system.j2", "user": "prompts/user.j2"},
        "items": items_entry,
        "conditions": ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"],
        "scoring": {"mode": "logprobs"},
    }


def _deep_update(d: dict[str, Any], upd: dict[str, Any]) -> dict[str, Any]:
    for k, v in upd.items():
        if v is _DELETE:
            d.pop(k, None)
        elif isinstance(v, dict) and isinstance(d.get(k), dict):
            _deep_update(d[k], v)
        else:
            d[k] = v
    return d


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"

    def __deepcopy__(self, memo):
        return self


_DELETE = _Delete()
DELETE = _DELETE  # use as a value in ``spec`` to remove a key


def write_items(path: Path, items: list[dict[str, Any]], fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "csv":
        cols: list[str] = []
        for it in items:
            cols += [c for c in it if c not in cols]
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for it in items:
                w.writerow(
                    {c: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v) for c, v in it.items()}
                )
    else:
        raise ValueError(fmt)


def write_scenario(
    root: Path,
    *,
    items: Optional[list[dict[str, Any]]] = None,
    n_items: int = 6,
    fmt: str = "jsonl",
    spec: Optional[dict[str, Any]] = None,
    system: Optional[str] = SYSTEM_TPL,
    user: str = USER_TPL,
    name: str = "scenario.yaml",
    items_name: Optional[str] = None,
    raw_yaml: Optional[str] = None,
) -> Path:
    """Write a self-contained scenario under ``root``: ``<name>``, ``prompts/*.j2`` and its items
    (``data/items.<fmt>``, or inline for fmt="inline"). Returns the scenario file's path."""
    root.mkdir(parents=True, exist_ok=True)
    items = make_items(n_items) if items is None else items
    (root / "prompts").mkdir(exist_ok=True)
    if system is not None:
        (root / "prompts" / "system.j2").write_text(system, encoding="utf-8")
    (root / "prompts" / "user.j2").write_text(user, encoding="utf-8")
    if fmt == "inline":
        entry: dict[str, Any] = {"inline": copy.deepcopy(items)}
    else:
        rel = f"data/{items_name or 'items.' + fmt}"
        write_items(root / rel, items, fmt)
        entry = {"path": rel}
    data = base_spec(entry)
    if system is None:
        data["prompts"].pop("system")
    if spec:
        _deep_update(data, copy.deepcopy(spec))
    path = root / name
    path.write_text(raw_yaml if raw_yaml is not None else yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def transcripts_to_files(items: list[dict[str, Any]], scenario_dir: Path) -> None:
    """Move each item's inline transcript to ``<scenario_dir>/data/transcripts/<id>.json`` and point the item
    at it (relative to the items file), as a scenario with ``transcripts: {source: path}`` reads them."""
    tdir = scenario_dir / "data" / "transcripts"
    tdir.mkdir(parents=True, exist_ok=True)
    for it in items:
        (tdir / f"{it['id']}.json").write_text(json.dumps({"id": it["id"], **it["transcript"]}), encoding="utf-8")
        it["transcript"] = f"transcripts/{it['id']}.json"


def write_mock_sweep(tmp_path: Path, sweep_id: str, scenarios: list[str], **extra: Any) -> Path:
    """``<tmp_path>/sweep.yaml``: one mock model, without_mg vs with_mg, no cache, output in ``<tmp_path>/out``."""
    data = {
        "id": sweep_id,
        "models": [{"name": "alpha", "backend": "mock", "model": "mock-a"}],
        "scenarios": scenarios,
        "conditions": ["without_mg", "with_mg"],
        "output_dir": str(tmp_path / "out"),
        "cache": False,
        "n_boot": 200,
        **extra,
    }
    p = tmp_path / "sweep.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


# ---- the CLI ------------------------------------------------------------------


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def __iter__(self):  # code, out, err = run_cli(...)
        return iter((self.code, self.out, self.err))


def run_cli(args: list[str], monkeypatch, capsys) -> CliResult:
    """Run ``mgreason ARGS`` in-process through ``mgreason.cli.main`` (the real entry point:
    MGReasonError → one line on stderr, exit code 2)."""
    from mgreason import cli

    monkeypatch.setattr(sys, "argv", ["mgreason", *map(str, args)])
    monkeypatch.delenv("MGREASON_PROGRESS", raising=False)
    capsys.readouterr()
    code = 0
    try:
        cli.main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    cap = capsys.readouterr()
    return CliResult(code, cap.out, cap.err)


def mgreason_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m mgreason.cli``."""
    script = Path(sys.executable).parent / "mgreason"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "mgreason.cli"]


def run_cli_subprocess(args: list[str], cwd: Path, timeout: float = 120) -> CliResult:
    env = dict(os.environ)
    env.pop("MGREASON_PROGRESS", None)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env["PYTHONWARNINGS"] = "ignore"
    p = subprocess.run(
        [*mgreason_command(), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return CliResult(p.returncode, p.stdout, p.stderr)


def assert_one_line_error(res: CliResult, *needles: str) -> str:
    """Exit code 2, exactly one line on stderr, no traceback, naming every needle."""
    assert res.code == 2, f"exit code {res.code}; stderr:\n{res.err}\nstdout:\n{res.out}"
    assert "Traceback" not in res.err and "Traceback" not in res.out, res.err
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{res.err}"
    line = lines[0]
    assert line.startswith("error: "), line
    for n in needles:
        assert n in line, f"{n!r} not in {line!r}"
    return line


def assert_no_run_dir(out: Path) -> None:
    assert not out.exists(), f"{out} was created"
    assert not (out.parent / f".{out.name}.partial").exists(), "a .partial run directory was left behind"
    leftovers = [p.name for p in out.parent.iterdir() if p.name.endswith(".partial")] if out.parent.is_dir() else []
    assert not leftovers, leftovers


def restore_sigint() -> None:
    """``preexec_fn`` of a subprocess a test interrupts with SIGINT: a shell without job control starts
    background jobs (``cmd &``) with SIGINT ignored, the child inherits that, and Python then never sees Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
