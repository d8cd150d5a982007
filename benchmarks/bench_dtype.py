"""float32 vs bfloat16 on CPU for the hf backend: speed and whether the answers change.

Prints numbers and writes benchmarks/results/dtype.md; not a test. Usage::

    python benchmarks/bench_dtype.py [--model qwen2.5-coder-1.5b-instruct] [--imigue-items 10] [--threads N]
                                     [--data ../shared/data/imigue] [--out benchmarks/results/dtype.md]

For each dtype the model is loaded once (load time reported), then the same prompts are scored
with ``HFBackend.score_labels`` (the path every logprob run uses):

* the demo scenario's prompts (scenarios/demo_press_emotion.yaml: 12 items x 3 conditions);
* iMiGUE *train* items (``--imigue-items`` videos x 4 conditions of scenarios/imigue_emotion.yaml),
  built with ``mgreason imigue build-items`` from ``--data`` (default ../shared/data/imigue beside the
  repository); skipped, saying so, when that data is absent.

Reported per prompt set: prompts/s for each dtype, the bf16 speed-up, prediction agreement (same
argmax label), max and mean |Δ log-prob| over every (prompt, label), and each dtype's accuracy.
Label mass is reported too: the probability that the answer starts with any label
(log-sum-exp of the label log-probs).
"""

from __future__ import annotations

import argparse
import functools
import gc
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

print = functools.partial(print, flush=True)  # noqa: A001 - progress shows up when piped

DEMO = REPO / "scenarios" / "demo_press_emotion.yaml"
IMIGUE_SCENARIO = REPO / "scenarios" / "imigue_emotion.yaml"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imigue"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "dtype.md"


def _build_requests(scenario, limit=None):
    try:
        from mgreason.eval.plan import build_requests
    except ImportError:  # older layout
        from mgreason.runner import build_requests
    return build_requests(scenario, limit=limit, seed=0)


def imigue_train_scenario(data: Path, tmp: Path):
    """The iMiGUE scenario pointed at train items built from ``data`` (None when the data is absent)."""
    from mgreason.scenario import load_scenario

    if not (data / "labels_20200831.csv").is_file() or not (data / "splits.json").is_file():
        return None
    out = tmp / "imigue"
    subprocess.run(
        [sys.executable, "-m", "mgreason.cli", "imigue", "build-items", "--labels", str(data / "labels_20200831.csv"),
         "--splits", str(data / "splits.json"), "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )
    spec = yaml.safe_load(IMIGUE_SCENARIO.read_text(encoding="utf-8"))
    for k in ("system", "user"):
        if spec["prompts"].get(k):
            spec["prompts"][k] = str((IMIGUE_SCENARIO.parent / spec["prompts"][k]).resolve())
    spec["items"]["path"] = str(out / "train.jsonl")
    spec["items"].pop("train_path", None)  # the train items are the ones scored here
    spec.pop("obtain", None)
    path = tmp / "imigue_train.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


def score(backend, requests, labels):
    t0 = time.perf_counter()
    res = backend.score_labels([r.messages for r in requests], labels)
    dt = time.perf_counter() - t0
    bad = [r.error for r in res if r.error]
    if bad:
        raise SystemExit(f"scoring failed: {bad[0]}")
    return [r.label_logprobs for r in res], dt


def label_mass(lp: dict) -> float:
    m = max(lp.values())
    return math.exp(m) * sum(math.exp(v - m) for v in lp.values())


def compare(sets, scores, labels, dtypes):
    rows = []
    for name, reqs in sets.items():
        a, b = (scores[name][d] for d in dtypes)
        (lp_a, t_a), (lp_b, t_b) = a, b
        gold = [r.gold for r in reqs]
        pred_a = [max(labels, key=lambda L: x[L]) for x in lp_a]
        pred_b = [max(labels, key=lambda L: x[L]) for x in lp_b]
        deltas = [abs(x[L] - y[L]) for x, y in zip(lp_a, lp_b) for L in labels]
        rows.append(
            {
                "set": name,
                "n": len(reqs),
                "ips": (len(reqs) / t_a, len(reqs) / t_b),
                "speedup": t_a / t_b,
                "agree": sum(p == q for p, q in zip(pred_a, pred_b)) / len(reqs),
                "max_d": max(deltas),
                "mean_d": sum(deltas) / len(deltas),
                "acc": (
                    sum(p == g for p, g in zip(pred_a, gold)) / len(reqs),
                    sum(p == g for p, g in zip(pred_b, gold)) / len(reqs),
                ),
                "mass": (
                    sum(label_mass(x) for x in lp_a) / len(reqs),
                    sum(label_mass(x) for x in lp_b) / len(reqs),
                ),
            }
        )
    return rows


def write_section(out: Path, model: str, text: str) -> None:
    """Replace (or append) this model's section of the results file, keeping the others."""
    begin, end = f"<!-- BEGIN {model} -->", f"<!-- END {model} -->"
    block = f"{begin}\n{text}{end}\n"
    old = out.read_text(encoding="utf-8") if out.is_file() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + block
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(new, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--demo-items", type=int, default=None, help="only the first N demo items (x 3 conditions)")
    ap.add_argument("--imigue-items", type=int, default=10, help="iMiGUE train videos (x 4 conditions); 0 skips")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--note", default="", help="a line about the machine's load, written into the results")
    args = ap.parse_args()

    from mgreason.backends.hf import HFBackend, default_dtype
    from mgreason.scenario import load_scenario

    demo = load_scenario(DEMO)
    labels = list(demo.labels)
    n_demo = min(args.demo_items or len(demo.items), len(demo.items))
    sets = {f"demo ({n_demo} items x 3 conditions)": _build_requests(demo, n_demo)}
    with tempfile.TemporaryDirectory(prefix="mgreason-bench-dtype-") as tmp:
        imigue = imigue_train_scenario(args.data, Path(tmp)) if args.imigue_items > 0 else None
        if imigue is not None:
            assert list(imigue.labels) == labels
            sets[f"iMiGUE train ({args.imigue_items} videos x 4 conditions)"] = _build_requests(imigue, args.imigue_items)
        else:
            print(f"iMiGUE train items skipped (no data at {args.data} or --imigue-items 0)")

    dtypes = ("float32", "bfloat16")
    loads = {}
    sets_scores: dict = {}
    for d in dtypes:
        print(f"loading {args.model} in {d} ...")
        t0 = time.perf_counter()
        be = HFBackend(args.model, dtype=d, threads=args.threads)
        loads[d] = time.perf_counter() - t0
        threads = be.threads
        for name, reqs in sets.items():
            be.score_labels([reqs[0].messages], labels)  # warm-up (first-call allocations)
            lp, dt = score(be, reqs, labels)
            sets_scores.setdefault(name, {})[d] = (lp, dt)
            ntok = sum(len(be.encode(be.render(r.messages))) for r in reqs)
            print(f"  {d:9s} {name}: {len(reqs)} prompts ({ntok} tokens) in {dt:.1f} s = {len(reqs) / dt:.2f} prompts/s")
        be.close()
        del be
        gc.collect()

    rows = compare(sets, sets_scores, labels, dtypes)
    auto, why = default_dtype("cpu")
    lines = [
        f"## float32 vs bfloat16 on CPU (hf backend, `{args.model}`)",
        "",
        f"Command: `python benchmarks/bench_dtype.py --model {args.model} --imigue-items {args.imigue_items}"
        + (f" --demo-items {args.demo_items}" if args.demo_items else "")
        + (f" --threads {args.threads}" if args.threads else "")
        + "`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {threads}; "
        f"default dtype here: **{auto}** ({why}).",
    ]
    if args.note:
        lines += ["", args.note]
    lines += [
        "",
        f"Load: float32 {loads['float32']:.1f} s, bfloat16 {loads['bfloat16']:.1f} s (from the converted safetensors directory).",
        "",
        "| prompts | n | fp32 prompts/s | bf16 prompts/s | bf16 speed-up | same answer | max abs Δ log-prob | mean abs Δ log-prob | accuracy fp32 / bf16 | label mass fp32 / bf16 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['n']} | {r['ips'][0]:.2f} | {r['ips'][1]:.2f} | {r['speedup']:.2f}x | "
            f"{r['agree']:.3f} | {r['max_d']:.3f} | {r['mean_d']:.4f} | {r['acc'][0]:.3f} / {r['acc'][1]:.3f} | "
            f"{r['mass'][0]:.3f} / {r['mass'][1]:.3f} |"
        )
    lines += [
        "",
        f"Accuracy on the demo is on {n_demo} hand-written synthetic items; on iMiGUE it is on "
        f"{args.imigue_items} training videos (the prompt-development split): neither is a result, they only "
        "show whether bf16 changes answers.",
    ]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    write_section(args.out, args.model, text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
