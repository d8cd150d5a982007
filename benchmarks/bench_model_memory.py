"""Peak memory (RSS) and wall time of the quick-start main job, against the `models info` estimate.

Prints numbers; not a test. Usage (run it on an otherwise idle machine, or say how loaded it was)::

    python benchmarks/bench_model_memory.py [--model qwen2.5-coder-1.5b-instruct] [--dtype auto|float32|bfloat16]
                                            [--limit N]

Runs ``mgreason run-scenario scenarios/demo_press_emotion.yaml --model MODEL --no-cache`` under
``/usr/bin/time -v`` (a fresh process, the response cache off so that every prompt is scored), then prints
its peak RSS, wall time, the load average before and after, and ``memory_to_run`` from
``mgreason models info MODEL --json`` for that dtype with the estimate's error (the goal: within 25 %).
Results of this project's runs: ``benchmarks/results/model_memory.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "scenarios" / "demo_press_emotion.yaml"


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        print("needs /usr/bin/time (GNU time) for the peak RSS", file=sys.stderr)
        return 2
    mg = [sys.executable, "-m", "mgreason.cli"]
    info = json.loads(subprocess.run([*mg, "models", "info", args.model, "--json"], capture_output=True, text=True,
                                     check=True).stdout)  # fmt: skip
    dtype = info["hf_default_dtype_here"].split()[0] if args.dtype == "auto" else args.dtype
    with tempfile.TemporaryDirectory(prefix="mgreason-bench-mem-") as tmp:
        cmd = ["/usr/bin/time", "-v", *mg, "run-scenario", str(DEMO), "--model", args.model, "--no-cache",
               "--out", str(Path(tmp) / "run"), "-E", f"dtype={dtype}"]  # fmt: skip
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        before = _load()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "MGREASON_PROGRESS": "0"})
        after = _load()
    if p.returncode != 0:
        print(p.stderr[-3000:], file=sys.stderr)
        return 1
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", p.stderr).group(1)
    peak = rss_kb * 1024
    est = info["memory_to_run"].get(dtype)
    print(f"model {args.model}, dtype {dtype}, limit {args.limit or 'all'}")
    print(f"peak RSS {peak / 1e9:.2f} GB, wall {wall}, load average before {before}, after {after}")
    if est:
        print(f"models info estimate {est / 1e9:.2f} GB ({(est - peak) / peak:+.0%} of the measured peak)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
