"""The package's layers: a lower layer never imports a higher one (at module level or inside a function).

    foundation (errors, fileio, configio, taxonomy, stats) ← transcript
    transcript ← skeleton ← synth ← recognizer ← transcribe ← viz        (recognition)
    transcript ← scenario ← backends ← eval ← sweep                      (reasoning)

plus the side packages in between (datasets' label reader sits with skeleton, its item builders with
scenario; authoring with scenario; baselines with transcript; the pure transcript metrics
``mgreason.transcribe.metrics`` and the transcript degradation ``mgreason.degrade`` just above transcript,
below scenario). Command-line modules (``cli.py``) sit
on top and may import anything. The test reads imports from the source (ast), so lazy imports count.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "mgreason"

FOUNDATION = {"errors", "fileio", "configio", "taxonomy", "stats", "lazy", "root"}
# component -> the components it may import (besides itself and the foundation)
ALLOWED: dict[str, set[str]] = {
    "transcript": set(),
    "skeleton": {"transcript"},
    "datasets_labels": {"transcript", "skeleton"},
    "synth": {"transcript", "skeleton"},
    "recognizer": {"transcript", "skeleton", "datasets_labels", "synth"},
    "transcribe": {"transcript", "skeleton", "datasets_labels", "synth", "recognizer"},
    "viz": {"transcript", "skeleton", "datasets_labels", "recognizer", "transcribe"},
    "scenario": {"transcript", "degrade"},
    "baselines": {"transcript"},
    "datasets": {"transcript", "datasets_labels", "scenario", "baselines"},
    "authoring": {"transcript", "scenario", "baselines"},
    "backends": {"transcript", "scenario"},
    "eval": {"transcript", "scenario", "backends"},
    "sweep": {"transcript", "scenario", "backends", "eval", "viz"},
    # LoRA adaptation: the scenario's prompts (eval's request builder) on an hf backend's model
    "adapt": {"transcript", "scenario", "backends", "eval"},
    # transcript degradation (issue 17) sits on the transcript and its metrics
    "degrade": {"transcript"},
}
# The transcript metrics (mgreason.transcribe.metrics) depend only on the transcript and numpy: their own
# low component, usable by every component above the transcript (degrade measures F1 with them).
ALLOWED["transcript_metrics"] = {"transcript"}
for _c in ALLOWED:
    if _c not in ("transcript", "transcript_metrics"):
        ALLOWED[_c].add("transcript_metrics")
for _c in ("datasets", "authoring", "backends", "eval", "sweep", "adapt"):  # everything that may use the scenario layer
    ALLOWED[_c].add("degrade")


def component(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mgreason":
        return None
    if len(parts) == 1 or parts[1] == "__version__":
        return "root"
    if parts[-1] == "cli" or parts[1] == "cli":
        return "cli"
    if parts[1] == "models":  # the local-model catalogue belongs to the backends layer
        return "backends"
    if parts[1] == "datasets" and len(parts) > 2 and parts[2] == "imigue_labels":
        return "datasets_labels"
    if parts[1] == "transcribe" and len(parts) > 2 and parts[2] == "metrics":
        return "transcript_metrics"
    return parts[1]


def imports() -> list[tuple[str, str, str]]:
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
    return out


def test_every_component_is_placed():
    comps = {src for _, src, _ in imports()} | {dst for _, _, dst in imports()}
    unknown = sorted(c for c in comps if c not in ALLOWED and c not in FOUNDATION and c != "cli")
    assert not unknown, f"place these packages in ALLOWED: {unknown}"


def test_lower_layers_never_import_higher_ones():
    bad = sorted(
        {
            f"{f}: {src} imports {dst}"
            for f, src, dst in imports()
            if src != "cli" and dst not in FOUNDATION and dst not in ALLOWED.get(src, set())
            and not (src in FOUNDATION and dst in FOUNDATION and src != "root")
        }
    )
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_foundation_imports_only_foundation():
    bad = sorted({f"{f}: {src} imports {dst}" for f, src, dst in imports() if src in FOUNDATION and dst not in FOUNDATION})
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_command_line():
    bad = sorted({f"{f}: {src} imports cli" for f, src, dst in imports() if dst == "cli" and src != "cli"})
    assert not bad, "\n".join(bad)


def test_the_allowed_graph_is_acyclic():
    seen: dict[str, int] = {}

    def visit(c: str, stack: tuple[str, ...]) -> None:
        assert c not in stack, f"cycle: {' -> '.join(stack + (c,))}"
        for d in ALLOWED.get(c, ()):
            visit(d, stack + (c,))

    for c in ALLOWED:
        visit(c, ())
