"""Speed and difficulty of the synthetic micro-gesture generator.

    python benchmarks/bench_synth.py [--n-per-class 100] [--minutes 10]

Prints clips per second (wall and CPU), the time for one long session, and the
accuracy of a nearest-centroid classifier on simple pose features, trained and
tested on different simulated subjects (a difficulty gauge: well above chance,
far from 100%).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "synth"))  # nearest-centroid helper

from mgreason.synth import generate_clips, generate_session  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-per-class", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    w, c = time.perf_counter(), time.process_time()
    cs = generate_clips(args.n_per_class, seed=args.seed)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    print(f"clips: {len(cs)} ({len(np.unique(cs.labels))} classes, mean {cs.lengths.mean() / cs.fps:.2f} s) "
          f"in {wall:.2f} s wall / {cpu:.2f} s CPU -> {len(cs) / wall:.0f} clips/s wall, {len(cs) / cpu:.0f} per CPU-s")

    w, c = time.perf_counter(), time.process_time()
    s = generate_session(args.minutes, seed=args.seed)
    print(f"session: {args.minutes:g} min, {s.sequence.num_frames} frames, {len(s.transcript.events)} gestures "
          f"in {time.perf_counter() - w:.2f} s wall / {time.process_time() - c:.2f} s CPU")

    try:
        from test_separability import nearest_centroid_accuracy
    except ImportError:  # tests not shipped
        return
    acc = nearest_centroid_accuracy(cs)
    print(f"nearest-centroid accuracy, held-out subjects: {acc:.3f} (chance {1 / len(np.unique(cs.labels)):.3f})")


if __name__ == "__main__":
    main()
