"""Online recognition speed and accuracy with the bundled recognizer (numbers printed, not a test).

    python benchmarks/bench_transcribe.py [--minutes 60] [--threads 2] [--naive-minutes 3]
                                          [--heldout 6] [--heldout-minutes 5] [--checkpoint DIR] [--json FILE]

1. Speed: a ``--minutes`` (default 60) synthetic session at 25 fps is transcribed end to end
   (usability checks, gap detection, preparation, per-frame scores computed once over the whole
   recording in chunks with overlap, segment extraction). Printed: wall seconds, CPU seconds and
   times real time. Target on 2 CPU cores: <= 20 s per hour of recording.
2. Naive baseline in the same run: one full clip-level forward pass per sliding window
   (window = the checkpoint's clip_len, stride = the network's temporal stride, so the per-frame
   resolution is the dense output's), averaged into frames, then the same segment extraction. It is
   timed on the first ``--naive-minutes`` of the session and *extrapolated linearly* to the whole
   session (its cost is exactly linear in the number of windows); the dense path is timed on the same
   slice too, for a like-for-like ratio. Target: the dense path >= 5x faster.
3. Accuracy: F1 at tIoU 0.1/0.3/0.5 (label must match), mAP and segmental F1 on ``--heldout``
   synthetic sessions of new simulated people (seeds the training never used).

CPU contention matters: the machine's load average is printed, with CPU seconds next to wall
seconds. On an oversubscribed machine ``--threads 1`` is usually faster than 2 (spinning OpenMP
threads wait for each other).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mgreason.recognizer.inference import Recognizer, bundled_checkpoint_path  # noqa: E402
from mgreason.synth import generate_session  # noqa: E402
from mgreason.transcript_metrics import evaluate  # noqa: E402
from mgreason.transcribe.online import naive_frame_scores  # noqa: E402
from mgreason.transcribe.pipeline import transcribe_sequence  # noqa: E402
from mgreason.transcribe.segments import SegmentParams, scores_to_transcript  # noqa: E402
from mgreason.transcribe.tuning import checkpoint_segmentation  # noqa: E402

HELDOUT_SEED0 = 9001  # session seeds far from the training data's (seed 0 clips)


class Timer:
    def __enter__(self) -> "Timer":
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def load_avg() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the speed-test session")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--naive-minutes", type=float, default=3.0, help="slice on which the naive baseline is timed")
    ap.add_argument("--naive-stride", type=int, default=None, help="naive window stride (default: temporal stride)")
    ap.add_argument("--heldout", type=int, default=6, help="held-out sessions for F1")
    ap.add_argument("--heldout-minutes", type=float, default=5.0)
    ap.add_argument("--naive-f1", action="store_true", help="also score the naive baseline on the held-out sessions")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="default: the bundled tiny-synth (the checkpoint of the synthetic sessions)")
    ap.add_argument("--seed", type=int, default=4242, help="seed of the speed-test session")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    rec = Recognizer.load(args.checkpoint or bundled_checkpoint_path("tiny-synth"))
    seg = checkpoint_segmentation(rec.config)  # what `mgreason transcribe` uses
    out: dict = {
        "checkpoint": str(getattr(rec, "path", args.checkpoint)),
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_avg_start": load_avg(),
    }
    print(f"checkpoint {out['checkpoint']}: {rec.num_classes} classes (background={rec.background_index}), "
          f"{rec.fps:g} fps, clip_len {rec.clip_len}, temporal stride {rec.model.temporal_stride}, "
          f"receptive field +-{rec.receptive_radius()} frames")  # fmt: skip
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, load average {load_avg()}")

    # ------------------------------------------------------------------ speed: whole session
    with Timer() as t:
        sess = generate_session(args.minutes, seed=args.seed)
    seq = sess.sequence
    dur = seq.duration_s
    print(f"\nsession: {args.minutes:g} min, {seq.num_frames} frames at {seq.fps:g} fps "
          f"({len(sess.transcript.events)} gestures; generated in {t.wall:.1f} s, not counted)")  # fmt: skip
    transcribe_sequence(rec, seq[: int(30 * seq.fps)], id="warmup")  # first-call allocations
    with Timer() as t:
        res = transcribe_sequence(rec, seq, id=sess.transcript.id)
    out["dense"] = {"audio_s": dur, "wall_s": t.wall, "cpu_s": t.cpu, "x_realtime": dur / t.wall,
                    "events": len(res.transcript.events), "scores_s": res.timings["scores"]}  # fmt: skip
    print(f"dense (scores once, chunked): {t.wall:.2f} s wall, {t.cpu:.2f} s CPU -> {dur / t.wall:.0f}x real time "
          f"({res.timings['scores']:.2f} s in the network, {len(res.transcript.events)} events)")

    # ------------------------------------------------------------------ naive baseline on a slice
    sl = seq[: int(round(args.naive_minutes * 60 * seq.fps))]
    with Timer() as td:
        fs = rec.frame_scores(sl, features=False)
        scores_to_transcript(fs.probs, sl.fps, rec.labels, id="d", background=rec.background_index,
                             params=seg)
    with Timer() as tn:
        fsn, n_win = naive_frame_scores(rec, sl, stride=args.naive_stride)
        scores_to_transcript(fsn.probs, sl.fps, rec.labels, id="n", background=rec.background_index,
                             params=seg)
    scale = dur / sl.duration_s
    naive_wall, naive_cpu = tn.wall * scale, tn.cpu * scale
    stride = args.naive_stride or rec.model.temporal_stride
    out["naive"] = {"slice_s": sl.duration_s, "windows_on_slice": n_win, "window": rec.clip_len, "stride": stride,
                    "slice_wall_s": tn.wall, "slice_cpu_s": tn.cpu, "extrapolated_wall_s": naive_wall,
                    "extrapolated_cpu_s": naive_cpu, "dense_slice_wall_s": td.wall, "dense_slice_cpu_s": td.cpu}  # fmt: skip
    print(f"naive (1 forward per window, W={rec.clip_len}, stride {stride}): {n_win} windows on the first "
          f"{sl.duration_s / 60:g} min took {tn.wall:.2f} s wall / {tn.cpu:.2f} s CPU; "
          f"extrapolated x{scale:g} to {dur / 60:g} min: {naive_wall:.0f} s wall / {naive_cpu:.0f} s CPU "
          f"-> {dur / naive_wall:.1f}x real time")
    print(f"speed-up of the dense path: {naive_wall / out['dense']['wall_s']:.1f}x (whole session vs extrapolated), "
          f"{tn.wall / td.wall:.1f}x on the same slice ({td.wall:.2f} s dense), CPU {tn.cpu / max(td.cpu, 1e-9):.1f}x")
    out["speedup_wall"] = naive_wall / out["dense"]["wall_s"]
    out["speedup_same_slice"] = tn.wall / td.wall
    target = out["dense"]["wall_s"] * 3600.0 / dur
    print(f"per hour of recording: {target:.1f} s wall (target <= 20 s), "
          f"{out['dense']['cpu_s'] * 3600.0 / dur:.1f} s CPU; naive {naive_wall * 3600.0 / dur:.0f} s")

    # ------------------------------------------------------------------ accuracy on held-out sessions
    if args.heldout > 0:
        pairs, naive_pairs, scored = [], [], []
        gen = 0.0
        with Timer() as t:
            for i in range(args.heldout):
                g0 = time.perf_counter()
                s = generate_session(args.heldout_minutes, seed=HELDOUT_SEED0 + i)
                gen += time.perf_counter() - g0
                r = transcribe_sequence(rec, s.sequence, id=s.transcript.id)
                pairs.append((r.transcript, s.transcript))
                scored.append(r.scores)
                if args.naive_f1:
                    fsn, _ = naive_frame_scores(rec, s.sequence)
                    naive_pairs.append((scores_to_transcript(fsn.probs, s.sequence.fps, rec.labels, id=s.transcript.id,
                                                             background=rec.background_index,
                                                             params=seg), s.transcript))  # fmt: skip
        ev = evaluate(pairs)
        n_gt = sum(len(g.events) for _, g in pairs)
        print(f"\nheld-out: {args.heldout} sessions x {args.heldout_minutes:g} min (seeds {HELDOUT_SEED0}..), "
              f"{n_gt} gestures, the checkpoint's segmentation {seg}")
        print(ev.render())
        # the same scores cut with the untuned library defaults, for comparison
        untuned = [(scores_to_transcript(r.probs, r.fps, rec.labels, id=g.id, background=rec.background_index,
                                         params=SegmentParams()), g) for r, (_, g) in zip(scored, pairs)]  # fmt: skip
        evu = evaluate(untuned)
        print(f"untuned defaults {SegmentParams()}: F1@0.3 = {evu.f1[0.3]['f1']:.3f} "
              f"({evu.f1[0.3]['n_pred']} predicted), mAP@0.3 = {evu.map[0.3]:.3f}")
        out["heldout"] = {"sessions": args.heldout, "minutes": args.heldout_minutes, "gt_events": n_gt,
                          "metrics": ev.to_dict(), "wall_s": t.wall - gen}  # fmt: skip
        out["heldout"]["metrics"].pop("per_recording", None)
        out["heldout"]["segmentation"] = seg.to_dict()
        out["heldout"]["untuned_f1_0.3"] = evu.f1[0.3]["f1"]
        print(f"F1@0.3 = {ev.f1[0.3]['f1']:.3f}")
        if naive_pairs:
            evn = evaluate(naive_pairs)
            print(f"naive baseline F1@0.3 = {evn.f1[0.3]['f1']:.3f}, mAP@0.3 = {evn.map[0.3]:.3f}")
            out["heldout"]["naive_f1_0.3"] = evn.f1[0.3]["f1"]
    out["load_avg_end"] = load_avg()
    print(f"\nload average at the end: {out['load_avg_end']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
