"""bf16 label scores against float32 (issue 23, item 4): predictions, exact ties and |Δ margin|.

Prints numbers and writes a section of benchmarks/results/bf16_vs_fp32.md; not a test. Usage::

    python benchmarks/bench_bf16_fp32.py [--model qwen2.5-coder-1.5b-instruct] [--imigue N] [--threads N]
                                         [--data ../shared/data/imigue] [--skip-demo]

The same prompts are scored by ``HFBackend.score_labels`` three ways:

* ``fp32``: the model in float32 (the reference);
* ``bf16``: the model in bfloat16 with the label logits in float32 (final norm and LM head in float32 at
  the scored positions), the residual stream in float32 (matmuls in bf16), and near ties (top two labels
  within ``near_tie`` = 0.1) scored again with float32 matmuls on the bf16 weights; what the hf backend does now;
* ``bf16 residual``: the same without the near-tie rescoring (``near_tie=0``);
* ``bf16 stream``: the same with the residual stream in bf16 (the float32 norm + head alone; the backend's
  path before the float32 residual stream);
* ``bf16 head``: the same bfloat16 model with its bf16 LM head (what the hf backend did before: logits
  rounded to bf16, ~0.125 steps at logits ~20).

Prompt sets: the demo scenarios (``scenarios/demo_press_emotion*.yaml``) and, with ``--imigue N``, the first
N iMiGUE *test* items x 4 conditions, built with ``mgreason imigue build-items`` from ``--data`` as
benchmarks/imigue_emotion.py does (skipped, saying so, without the data).

Per set and bf16 variant, against fp32: the share of equal predictions (argmax label; ties go to the first
label, as in the runner), exact ties (top two label scores equal) and those fp32 does not have, the number of
distinct margins, max |Δ margin| (margin = log p(first label) - log p(other label), every other label) and
max |Δ log-prob|. Raw scores are kept in benchmarks/out/bf16_vs_fp32.<model>.json (resumable per variant).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

print = functools.partial(print, flush=True)  # noqa: A001

DEMOS = sorted((REPO / "scenarios").glob("demo_press_emotion*.yaml"))
IMIGUE_SCENARIO = REPO / "scenarios" / "imigue_emotion.yaml"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imigue"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "bf16_vs_fp32.md"
VARIANTS = ("fp32", "bf16", "bf16 residual", "bf16 stream", "bf16 head")
VARIANT_NAMES = {"bf16": "fp32 residual + norm + head, near ties rescored (now)",
                 "bf16 residual": "fp32 residual + norm + head, no rescoring",
                 "bf16 stream": "fp32 norm + head, bf16 residual (before)",
                 "bf16 head": "bf16 LM head (first)"}


def imigue_test_scenario(data: Path, tmp: Path):
    from mgreason.scenario import load_scenario

    if not (data / "labels_20200831.csv").is_file() or not (data / "splits.json").is_file():
        return None
    out = tmp / "imigue"
    subprocess.run(
        [sys.executable, "-m", "mgreason.cli", "imigue", "build-items", "--labels", str(data / "labels_20200831.csv"),
         "--splits", str(data / "splits.json"), "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    spec = yaml.safe_load(IMIGUE_SCENARIO.read_text(encoding="utf-8"))
    for k in ("system", "user"):
        if spec["prompts"].get(k):
            spec["prompts"][k] = str((IMIGUE_SCENARIO.parent / spec["prompts"][k]).resolve())
    spec["items"]["path"] = str(out / "test.jsonl")
    spec["items"].pop("obtain", None)
    path = tmp / "imigue_test.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


def prompt_sets(args, tmp: Path) -> dict:
    from mgreason.eval.plan import build_requests
    from mgreason.scenario import load_scenario

    sets = {}
    if not args.skip_demo:
        for path in DEMOS:
            if args.demos and path.stem not in args.demos.split(","):
                continue
            sc = load_scenario(path)
            sets[path.stem] = (build_requests(sc, seed=0), list(sc.labels))
    if args.imigue:
        sc = imigue_test_scenario(args.data, tmp)
        if sc is None:
            print(f"iMiGUE data not found under {args.data}: skipped")
        else:
            reqs = build_requests(sc, seed=0)
            keep = [it.id for it in sc.items[: args.imigue]]
            reqs = [r for r in reqs if r.item_id in keep]
            sets[f"imigue test ({len(keep)} videos x {len(sc.conditions)} conditions)"] = (reqs, list(sc.labels))
    return sets


def score_all(backend, sets: dict) -> dict:
    out = {}
    for name, (reqs, labels) in sets.items():
        t0, k0 = time.perf_counter(), getattr(backend, "n_rescored", 0)
        res = backend.score_labels([r.messages for r in reqs], labels)
        bad = [r.error for r in res if r.error]
        if bad:
            raise SystemExit(f"{name}: scoring failed: {bad[0]}")
        out[name] = {"seconds": time.perf_counter() - t0, "scores": [r.label_logprobs for r in res],
                     "loadavg": os.getloadavg()[0], "rescored": getattr(backend, "n_rescored", 0) - k0}
        print(f"  {name}: {len(reqs)} prompts in {out[name]['seconds']:.1f} s (load average {os.getloadavg()[0]:.1f})")
    return out


def run_variants(args, sets: dict, raw_path: Path) -> dict:
    from mgreason.backends.hf import HFBackend

    raw = json.loads(raw_path.read_text()) if raw_path.is_file() else {}
    key = {name: len(reqs) for name, (reqs, _) in sets.items()}
    key["fp32_items"] = args.fp32_items
    if raw.get("sets") != key:
        raw = {"sets": key}
    for dtype, variants in (("float32", VARIANTS[:1]), ("bfloat16", VARIANTS[1:])):  # bf16 first: the others switch parts off
        todo = [v for v in variants if v not in raw]
        if not todo:
            continue
        these = sets
        if dtype == "float32" and args.fp32_items:
            these = {}
            for name, (reqs, labels) in sets.items():
                keep = list(dict.fromkeys(r.item_id for r in reqs))[: args.fp32_items]
                these[name] = ([r for r in reqs if r.item_id in keep], labels)
        t0 = time.perf_counter()
        be = HFBackend(args.model, dtype=dtype, threads=args.threads)
        raw.setdefault("load_s", {})[dtype] = time.perf_counter() - t0
        raw.setdefault("label_logits", {})[dtype] = be.label_logits()
        try:
            for v in todo:
                print(f"{v}: {VARIANT_NAMES.get(v, be.label_logits())}")
                if v != "bf16":
                    be.near_tie = 0.0  # the earlier paths: no rescoring of near ties
                if v == "bf16 stream":
                    be._residual_ok = False  # the float32 norm + head on the bf16 residual stream
                if v == "bf16 head":
                    be._float32_swaps = []  # the backend's former path: logits from the bf16 head
                raw[v] = score_all(be, these)
                raw_path.parent.mkdir(parents=True, exist_ok=True)
                raw_path.write_text(json.dumps(raw), encoding="utf-8")
        finally:
            be.close()
            del be
            gc.collect()
    return raw


def pred(lp: dict, labels: list[str]) -> str:
    return max(labels, key=lambda L: lp[L])  # first label wins a tie, as eval.scoring.argmax_label


def tied(lp: dict, labels: list[str]) -> bool:
    s = sorted((lp[L] for L in labels), reverse=True)
    return len(s) > 1 and s[0] == s[1]


def top2(lp: dict, labels: list[str]) -> float:
    s = sorted((lp[L] for L in labels), reverse=True)
    return s[0] - s[1]


def margins(lp: dict, labels: list[str]) -> list[float]:
    return [lp[labels[0]] - lp[L] for L in labels[1:]]


def compare(raw: dict, sets: dict) -> list[dict]:
    rows = []
    for name, (reqs, labels) in sets.items():
        ref = raw["fp32"][name]["scores"]
        n_ref = len(ref)  # the fp32 reference may cover the first items only (--fp32-items)
        for v in VARIANTS[1:]:
            every = raw[v][name]["scores"]
            got = every[:n_ref]  # requests are item-major: the first items' prompts come first
            n = len(ref)
            ties = [tied(x, labels) for x in got]
            ref_ties = [tied(x, labels) for x in ref]
            all_ties = sum(tied(x, labels) for x in every)
            rows.append({
                "set": name, "variant": v, "n": n, "n_all": len(every), "all_ties": all_ties,
                "distinct_all": len({tuple(round(m, 9) for m in margins(x, labels)) for x in every}),
                "equal": sum(pred(a, labels) == pred(b, labels) for a, b in zip(ref, got)) / n,
                "flips": sum(pred(a, labels) != pred(b, labels) for a, b in zip(ref, got)),
                # how close to a tie the flipped prompts were in fp32 (top label minus the runner-up)
                "flip_margin": max((top2(a, labels) for a, b in zip(ref, got) if pred(a, labels) != pred(b, labels)), default=None),
                "ties": sum(ties), "new_ties": sum(t and not r for t, r in zip(ties, ref_ties)),
                "distinct": len({tuple(round(m, 9) for m in margins(x, labels)) for x in got}),
                "distinct_ref": len({tuple(round(m, 9) for m in margins(x, labels)) for x in ref}),
                "max_dm": max(abs(p - q) for a, b in zip(ref, got) for p, q in zip(margins(a, labels), margins(b, labels))),
                "max_dlp": max(abs(a[L] - b[L]) for a, b in zip(ref, got) for L in labels),
                "s_ref": raw["fp32"][name]["seconds"], "s": raw[v][name]["seconds"],
            })  # fmt: skip
    return rows


def load_note(raw: dict) -> str:
    loads = [x["loadavg"] for v in VARIANTS for x in raw.get(v, {}).values() if isinstance(x, dict) and "loadavg" in x]
    if not loads:
        return "load average: see the run's log"
    return f"load average {min(loads):.0f}–{max(loads):.0f} while scoring"


def write_section(out: Path, model: str, text: str) -> None:
    begin, end = f"<!-- BEGIN {model} -->", f"<!-- END {model} -->"
    block = f"{begin}\n{text}{end}\n"
    old = out.read_text(encoding="utf-8") if out.is_file() else "# bf16 label scores vs float32 (hf backend)\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(new, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--imigue", type=int, default=0, help="also the first N iMiGUE test videos (x 4 conditions)")
    ap.add_argument("--skip-demo", action="store_true", help="only the iMiGUE prompts")
    ap.add_argument("--demos", default="", help="comma-separated demo scenario names (default: every demo_press_emotion*)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (1 is much faster on an oversubscribed machine)")
    ap.add_argument("--fp32-items", type=int, default=0,
                    help="score only the first N items of each set in float32 (the slow reference); bf16 scores all")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sets = prompt_sets(args, Path(tmp))
        tag = ("demo" + (f"-{args.demos.replace(',', '-')}" if args.demos else "")) if not args.skip_demo else ""
        tag += ("+" if tag and args.imigue else "") + (f"imigue{args.imigue}" if args.imigue else "")
        raw_path = REPO / "benchmarks" / "out" / f"bf16_vs_fp32.{args.model}.{tag}.json"
        raw = run_variants(args, sets, raw_path)
    rows = compare(raw, sets)
    cmd = "python benchmarks/bench_bf16_fp32.py --model " + args.model + (f" --imigue {args.imigue}" if args.imigue else "")
    cmd += " --skip-demo" if args.skip_demo else ""
    cmd += f" --demos {args.demos}" if args.demos else ""
    cmd += f" --fp32-items {args.fp32_items}" if args.fp32_items else ""
    cmd += f" --threads {args.threads}" if args.threads else ""
    lines = [
        f"## `{args.model}`" + (" — iMiGUE test prompts" if args.skip_demo else ""),
        "",
        f"Command: `{cmd}`; {load_note(raw)} (2-core VM: the seconds depend on that load).",
        f"Load: float32 {raw['load_s'].get('float32', float('nan')):.1f} s, bfloat16 {raw['load_s'].get('bfloat16', float('nan')):.1f} s; "
        f"bf16 label logits: {raw['label_logits'].get('bfloat16')}. Scoring seconds, " + " / ".join(VARIANTS) + ": "
        + "; ".join(f"{name} " + " / ".join(f"{raw[v][name]['seconds']:.0f}" for v in VARIANTS) for name in sets) + " (fp32 on its subset). Near ties rescored with float32 matmuls (now): "
        + "; ".join(f"{name} {raw['bf16'][name].get('rescored', '?')} of {len(raw['bf16'][name]['scores'])}" for name in sets) + ".",
        "",
        "| prompts | bf16 variant | n vs fp32 | same prediction as fp32 | flips (largest fp32 top-2 gap among them) | exact ties (of them, not tied in fp32) | "
        "distinct margins (fp32) | max \\|Δ margin\\| | max \\|Δ log-prob\\| | all bf16 prompts: n, exact ties, distinct margins |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        flips = f"{r['flips']} ({r['flip_margin']:.3f})" if r["flips"] else "0"
        lines.append(
            f"| {r['set']} | {VARIANT_NAMES[r['variant']]} | {r['n']} | "
            f"{r['equal']:.3f} | {flips} | {r['ties']} ({r['new_ties']}) | {r['distinct']} ({r['distinct_ref']}) | "
            f"{r['max_dm']:.4f} | {r['max_dlp']:.4f} | {r['n_all']}, {r['all_ties']}, {r['distinct_all']} |"
        )
    text = "\n".join(lines) + "\n\n"
    print("\n" + text)
    write_section(args.out, args.model + ("-imigue" if args.skip_demo else ""), text)


if __name__ == "__main__":
    main()
