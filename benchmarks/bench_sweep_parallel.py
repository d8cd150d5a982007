"""Sweep wall time: one model after another vs two workers at once vs the Ray executor (issue 29).

Three real local models (SmolLM2-135M in bfloat16 and in float32, Qwen2.5-Coder-1.5B in bfloat16; all hf on the
CPU) × the two demo scenarios, no response cache, each configuration in a fresh output directory. Checks that every
configuration gives the same records as the sequential one (predictions and log-probs) and prints a Markdown table.

    python benchmarks/bench_sweep_parallel.py [--configs seq par2 ray] [--limit N] [--out DIR]

The Ray configuration starts a local Ray instance on this machine's cores (no cluster needed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MODELS = [
    {"name": "smollm2-bf16", "backend": "hf", "model": "smollm2-135m-instruct", "options": {"dtype": "bfloat16"}},
    {"name": "smollm2-fp32", "backend": "hf", "model": "smollm2-135m-instruct", "options": {"dtype": "float32"}},
    {"name": "qwen1.5b-bf16", "backend": "hf", "model": "qwen2.5-coder-1.5b-instruct", "options": {"dtype": "bfloat16"}},
]
SCENARIOS = [str(ROOT / "scenarios" / "demo_press_emotion.yaml"), str(ROOT / "scenarios" / "demo_press_emotion_v2.yaml")]
CONFIGS = {
    "seq": ([], "one model after another (each with both cores)"),
    "par2": (["--max-parallel", "2"], "--max-parallel 2 (each worker pinned to one core)"),
    "ray": (["--executor", "ray", "--max-parallel", "2"], "--executor ray, local instance, 2 tasks at once"),
}


def records(out: Path) -> dict:
    got = {}
    for f in out.glob("models/*/*/samples.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            got[(f.parent.parent.name, f.parent.name, r["condition"], r["item_id"])] = (r["prediction"], r["label_logprobs"])
    return got


def loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--limit", type=int, default=None, help="only the first N items of each scenario")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench_sweep_parallel")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows, ref = [], None
    for name in args.configs:
        flags, what = CONFIGS[name]
        out = args.out / name
        if out.exists():
            import shutil

            shutil.rmtree(out)
        spec = {"id": f"bench-{name}", "models": MODELS, "scenarios": SCENARIOS, "output_dir": str(out), "cache": False,
                "batch_size": 12, "n_boot": 1000}
        if args.limit:
            spec["limit"] = args.limit
        sweep = args.out / f"{name}.yaml"
        sweep.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        before = loadavg()
        t0 = time.perf_counter()
        res = subprocess.run([str(Path(sys.executable).with_name("mgreason")), "sweep", str(sweep), "--no-report", *flags],
                             capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            print(res.stderr[-3000:], file=sys.stderr)
            return 1
        got = records(out)
        if ref is None:
            ref, same, dlp = got, "reference", 0.0
        else:
            same = f"{sum(got[k][0] == ref[k][0] for k in ref)}/{len(ref)}"
            dlp = max(abs(got[k][1][lab] - ref[k][1][lab]) for k in ref for lab in ref[k][1])
        rows.append((name, what, len(got), wall, same, dlp, f"{before} → {loadavg()}"))
        print(f"{name}: {wall:.1f} s, {len(got)} records, same predictions {same}, max |Δ log-prob| {dlp:.2e}",
              file=sys.stderr)
    print("| configuration | records | wall (s) | vs sequential | same predictions | max abs Δ log-prob | load average (1-min, before → after) |")
    print("|---|---:|---:|---:|---|---:|---|")
    base = rows[0][3]
    for name, what, n, wall, same, dlp, load in rows:
        print(f"| {what} | {n} | {wall:.1f} | {base / wall:.2f}× | {same} | {dlp:.1e} | {load} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
