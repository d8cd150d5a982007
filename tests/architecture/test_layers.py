"""The package's layers: a lower layer never imports a higher one (at module level or inside a function).

    base (errors, fileio, configio, lazy, taxonomy, stats, transcript) ← transcript_metrics ← degrade
    base ← skeleton ← synth ← recognizer ← transcribe ← viz                      (recognition)
    base ← scenario ← eval ← sweep;  models ← backends ← eval                     (reasoning)
    datasets (readers, return items) ← authoring (writes items and scenarios) → scenario;  mgreason.cli on top

plus the small side components: the pure transcript metrics (``mgreason.transcript_metrics``) and the
transcript degradation (``mgreason.degrade``) just above the base, usable by everything above it; the
baselines beside the transcript; datasets' label reader (``datasets.imigue_labels``) beside the skeleton.

A package's command module (``<package>/cli.py``) belongs to its package's layer: what a command needs from a
higher layer moves up (or into ``mgreason/cli.py``, the top, which may import anything). The test reads
imports from the source (ast), so lazy imports count.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "mgreason"

BASE = {"errors", "fileio", "configio", "taxonomy", "stats", "lazy", "transcript", "root",
        "mumin"}  # the MUMIN vocabulary beside the taxonomy (branch 'deception', issue 24)
TOP = "cli"  # mgreason/cli.py
# component -> the components it may import (besides itself and the base)
ALLOWED: dict[str, set[str]] = {
    "transcript_metrics": set(),
    "degrade": {"transcript_metrics"},
    "baselines": set(),
    # recognition
    "skeleton": set(),
    "datasets_labels": {"skeleton"},
    "synth": {"skeleton"},
    "recognizer": {"skeleton", "datasets_labels", "synth"},
    "transcribe": {"skeleton", "datasets_labels", "synth", "recognizer"},
    "viz": {"skeleton", "datasets_labels", "synth", "recognizer", "transcribe"},
    # reasoning
    "scenario": {"degrade"},
    "models": set(),
    "backends": {"models", "scenario"},
    "eval": {"scenario", "models", "backends", "degrade"},
    "sweep": {"scenario", "models", "backends", "eval", "degrade", "viz", "analyze"},
    # recordings -> transcripts -> scenario items -> verdicts (issue 25): above the recognition side and the
    # reasoning side; run-scenario and sweep resolve a scenario's recordings through it
    "analyze": {"skeleton", "datasets_labels", "synth", "recognizer", "transcribe", "scenario", "models", "backends",
                "eval", "degrade"},
    # LoRA adaptation (issue 31): the scenario's prompts (eval's request builder) on an hf backend's model
    "adapt": {"scenario", "models", "backends", "eval", "degrade"},
    # the run viewer (issue 26) reads runs and sweeps and draws their timelines
    "view": {"scenario", "models", "backends", "eval", "degrade", "sweep", "viz", "analyze"},
    # readers return items; writing items files and scenarios is the authoring side's (issues 24, 27)
    "datasets": {"datasets_labels"},
    "authoring": {"scenario", "baselines", "degrade", "datasets", "datasets_labels"},
}
for _c in ALLOWED:  # the pure transcript metrics serve every component above the base
    if _c != "transcript_metrics":
        ALLOWED[_c].add("transcript_metrics")

# Imports that break the picture today and are being fixed on another branch: each is an expected failure
# (strict: once the import is gone the test says so, and the entry must be deleted), never an exemption.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {
}


def component(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mgreason":
        return None
    if len(parts) == 1 or parts[1] == "__version__":
        return "root"
    if parts[1] == "cli":
        return TOP
    if parts[1] == "datasets" and len(parts) > 2 and parts[2] == "imigue_labels":
        return "datasets_labels"
    return parts[1]


@functools.cache
def imports() -> tuple[tuple[str, str, str], ...]:
    """(file, importing component, imported component) for every mgreason import in the package."""
    out = []
    for f in sorted(PKG.rglob("*.py")):
        mod = ".".join(f.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
        src = component(mod)
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for t in targets:
                dst = component(t)
                if dst is not None and dst != src:
                    out.append((str(f.relative_to(PKG.parent)), src, dst))
    return tuple(out)


def violations() -> dict[tuple[str, str], list[str]]:
    """(importing, imported component) -> files, for every import the picture does not allow."""
    bad: dict[tuple[str, str], set[str]] = {}
    for f, src, dst in imports():
        if src == TOP or dst in BASE:
            continue
        if src in BASE or dst == TOP or dst not in ALLOWED.get(src, set()):
            bad.setdefault((src, dst), set()).add(f)
    return {k: sorted(v) for k, v in bad.items()}


def test_every_component_is_placed():
    comps = {src for _, src, _ in imports()} | {dst for _, _, dst in imports()}
    unknown = sorted(c for c in comps if c not in ALLOWED and c not in BASE and c != TOP)
    assert not unknown, f"place these packages in ALLOWED: {unknown}"


def test_lower_layers_never_import_higher_ones():
    bad = [f"{f}: {src} imports {dst}" for (src, dst), files in sorted(violations().items())
           if (src, dst) not in KNOWN_VIOLATIONS for f in files]  # fmt: skip
    assert not bad, "layer violations:\n" + "\n".join(bad)


@pytest.mark.parametrize("pair", sorted(KNOWN_VIOLATIONS), ids=[f"{s}->{d}" for s, d in sorted(KNOWN_VIOLATIONS)])
def test_known_violations_are_fixed(pair, request):
    request.node.add_marker(pytest.mark.xfail(reason=KNOWN_VIOLATIONS[pair], strict=True))
    files = violations().get(pair, [])
    assert not files, f"{pair[0]} still imports {pair[1]}: {', '.join(files)}"


def test_base_imports_only_base():
    bad = sorted({f"{f}: {src} imports {dst}" for f, src, dst in imports() if src in BASE and dst not in BASE})
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_top_level_command_line():
    bad = sorted({f"{f}: {src} imports mgreason.cli" for f, src, dst in imports() if dst == TOP and src != TOP})
    assert not bad, "\n".join(bad)


def test_command_modules_are_checked_too():
    """No blanket exemption: every package's cli.py is a file of its package's component."""
    clis = [f for f in PKG.rglob("cli.py") if f.parent != PKG]
    assert clis, "no command modules found"
    for f in clis:
        mod = ".".join(f.relative_to(PKG.parent).with_suffix("").parts)
        assert component(mod) == f.parent.name, mod


def test_the_allowed_graph_is_acyclic():
    def visit(c: str, stack: tuple[str, ...]) -> None:
        assert c not in stack, f"cycle: {' -> '.join(stack + (c,))}"
        for d in ALLOWED.get(c, ()):
            visit(d, stack + (c,))

    for c in ALLOWED:
        visit(c, ())


# --------------------------------------------------------------------------- one command style
# Commands are module-level functions (readable, importable, testable on their own), registered by the
# module's register(app); no command is a closure inside register().
CLOSURE_COMMANDS_TODO: dict[str, str] = {}


def _closure_commands(f: Path) -> list[str]:
    tree = ast.parse(f.read_text(encoding="utf-8"))
    return [inner.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "register"
            for inner in ast.walk(node) if isinstance(inner, ast.FunctionDef) and inner is not node]  # fmt: skip


COMMAND_MODULES = sorted(str(f.relative_to(PKG)) for f in PKG.rglob("*.py") if f.stem == "cli" or f.stem.endswith("_cli"))


@pytest.mark.parametrize("path", COMMAND_MODULES)
def test_commands_are_module_level_functions(path, request):
    if path in CLOSURE_COMMANDS_TODO:
        request.node.add_marker(pytest.mark.xfail(reason=CLOSURE_COMMANDS_TODO[path], strict=True))
    inner = _closure_commands(PKG / path)
    assert not inner, f"{path}: commands defined inside register(): {', '.join(inner)}"
