"""eval-transcripts scaling (issue 30, item 12): seconds of ``transcribe.metrics.evaluate`` on one
synthetic recording pair of N predicted and N annotated events (sequential events of 0.2-4 s, 8
classes, random confidences), levels and chance F1 included. Prints a Markdown table.

    python benchmarks/bench_eval_transcripts.py --sizes 250 1000 4000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mgreason.taxonomy import IMIGUE
from mgreason.transcribe.metrics import evaluate
from mgreason.transcript import MGEvent, Transcript


def recording(n: int, seed: int) -> Transcript:
    r = np.random.default_rng(seed)
    ev, t = [], 0.0
    for _ in range(n):
        t += r.uniform(0.1, 3)
        ev.append(MGEvent(start_s=t, end_s=t + r.uniform(0.2, 4), label=IMIGUE.names[int(r.integers(0, 8))],
                          confidence=float(r.uniform()), source="recognizer"))
    return Transcript(id=f"r{seed}", events=ev)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 1000, 4000])
    args = ap.parse_args()
    print("| events per side | seconds |\n|---:|---:|")
    for n in args.sizes:
        pair = (recording(n, 1), recording(n, 2))
        t0 = time.perf_counter()
        evaluate([pair])
        print(f"| {n:,} | {time.perf_counter() - t0:.2f} |")


if __name__ == "__main__":
    main()
