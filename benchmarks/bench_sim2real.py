"""The sim-to-real gap, stage by stage: the real iMiGUE video 298 (0-420 s) next to the synthetic generator.

Every input the network sees is compared: joint positions after mapping OpenPose-137 -> imigue22 and
after centre/scale normalisation, image-y direction, bone lengths, per-joint confidence and dropout,
fingertip availability, motion speed during gestures and during idle, frame-to-frame jitter and the
share of frames in which the body keypoints stand still. Synthetic numbers are the median (and range)
over several generated subjects; ``--still`` adds the generator with the still-tracker fix.

Optionally (``--checkpoint DIR``, repeatable) each checkpoint is scored on the real 0-420 s span:
transcription F1@0.3 with labels and class-agnostic, and top-1 on the annotated clips (classes the
checkpoint knows). Real numbers are one subject, within-recording.

    python benchmarks/bench_sim2real.py [--still 1.0] [--checkpoint DIR ...] [--out benchmarks/results]

Needs ../shared/data/imigue (the tarball is extracted to a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "imigue"
TARBALL = DATA / "openpose_298_0-420s.tar.gz"
LABELS = DATA / "labels_20200831.csv"
FPS = 25.0
SPAN_S = 420.0
ONE = "one subject, within-recording"

GROUPS = {
    "head (nose, eyes, ears)": ["nose", "right_eye", "left_eye", "right_ear", "left_ear"],
    "neck + shoulders": ["neck", "right_shoulder", "left_shoulder"],
    "elbows": ["right_elbow", "left_elbow"],
    "wrists": ["right_wrist", "left_wrist"],
    "fingertips": [f"{s}_{f}_tip" for s in ("right", "left") for f in ("thumb", "index", "middle", "ring", "pinky")],
}
BODY = ["nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist"]


# --------------------------------------------------------------------------- data
def load_real(tmp: Path):
    from mgreason.datasets.imigue_labels import read_imigue_videos
    from mgreason.skeleton.io_openpose import read_openpose_dir
    from mgreason.skeleton.mapping import map_sequence

    with tarfile.open(TARBALL) as tf:
        tf.extractall(tmp, filter="data")
    dirs = [p for p in tmp.rglob("*_keypoints.json")]
    op_dir = dirs[0].parent
    seq137 = read_openpose_dir(op_dir, fps=FPS)
    seq = map_sequence(seq137, "imigue22")
    video = next(v for v in read_imigue_videos(LABELS) if v.video_id == 298)
    events = [e for e in video.transcript.events if e.end_s <= SPAN_S]
    gt = video.transcript.model_copy(update={"events": events})
    return seq137, seq, gt


def synth_sessions(n: int, minutes: float, still: float, jitter: float = 1.0, grid_px: float = 0.0):
    from mgreason.synth import GeneratorConfig, generate_session

    out = []
    for k in range(n):
        s = generate_session(minutes, seed=500 + k, rate_per_min=4.0, config=GeneratorConfig(still=still, jitter=jitter, grid_px=grid_px))
        out.append((s.sequence, s.transcript))
    return out


# --------------------------------------------------------------------------- statistics
def _mask(T: int, events, fps: float) -> np.ndarray:
    m = np.zeros(T, dtype=bool)
    for e in events:
        m[int(e.start_s * fps) : int(np.ceil(e.end_s * fps))] = True
    return m


def gap_stats(seq, transcript) -> dict:
    """Everything the network sees, summarised (seq in imigue22, pixels)."""
    from mgreason.recognizer.preprocessing import prepare_sequence
    from mgreason.skeleton.layouts import get_layout

    lay = get_layout("imigue22")
    J = list(lay.joints)
    idx = {j: i for i, j in enumerate(J)}
    out: dict = {}
    valid = seq.valid
    # raw image frame
    neck, nose = seq.joint("neck"), seq.joint("nose")
    rs, ls = seq.joint("right_shoulder"), seq.joint("left_shoulder")
    sw = np.nanmedian(np.linalg.norm(rs - ls, axis=1))
    out["raw"] = {
        "shoulder width (px)": float(sw),
        "neck x (px)": float(np.nanmedian(neck[:, 0])),
        "neck y (px)": float(np.nanmedian(neck[:, 1])),
        "nose above neck (share of frames, image y down)": float(np.nanmean((nose[:, 1] < neck[:, 1])[np.isfinite(nose[:, 1] + neck[:, 1])])),
        "right shoulder left of left shoulder in the image": float(np.nanmean((rs[:, 0] < ls[:, 0])[np.isfinite(rs[:, 0] + ls[:, 0])])),
    }
    out["valid"] = {g: float(valid[:, [idx[j] for j in js]].mean()) for g, js in GROUPS.items()}
    conf = np.where(valid, seq.confidence, np.nan)
    out["confidence"] = {g: float(np.nanmean(conf[:, [idx[j] for j in js]])) for g, js in GROUPS.items()}
    tips = [idx[j] for j in GROUPS["fingertips"]]
    out["hands"] = {
        "frames with >= 3 fingertips of a hand": float(
            np.mean((valid[:, tips[:5]].sum(1) >= 3) | (valid[:, tips[5:]].sum(1) >= 3))
        ),
        "frames with no fingertip at all": float(np.mean(~valid[:, tips].any(1))),
    }
    p = prepare_sequence(seq, "imigue22", FPS)
    x, ok = p.coords, p.confidence > 0
    out["position"] = {
        j: [float(np.median(x[ok[:, i], i, 0])), float(np.median(x[ok[:, i], i, 1]))] if ok[:, i].any() else None
        for i, j in enumerate(J)
    }
    bones = {}
    for a, b in lay.edges:
        both = ok[:, a] & ok[:, b]
        if both.any():
            bones[f"{J[a]}-{J[b]}"] = float(np.median(np.linalg.norm(x[both, a] - x[both, b], axis=1)))
    out["bones"] = bones
    gm = _mask(len(x), transcript.events, seq.fps)
    d = np.linalg.norm(np.diff(x, axis=0), axis=-1)  # shoulder widths per frame
    okd = ok[1:] & ok[:-1]
    speed = {}
    for g, js in GROUPS.items():
        cols = [idx[j] for j in js]
        for phase, m in (("gesture", gm[1:]), ("idle", ~gm[1:])):
            v = (d[:, cols] * seq.fps)[m[:, None] & okd[:, cols]]
            speed[f"{g} {phase} median"] = float(np.median(v)) if v.size else None
            speed[f"{g} {phase} p90"] = float(np.percentile(v, 90)) if v.size else None
    out["speed (shoulder widths / s)"] = speed
    acc = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1)
    ok3 = ok[2:] & ok[1:-1] & ok[:-2]
    idle3 = ~gm[2:]
    out["idle jitter |second difference| (shoulder widths)"] = {
        g: float(np.median(acc[:, [idx[j] for j in js]][idle3[:, None] & ok3[:, [idx[j] for j in js]]]))
        for g, js in GROUPS.items()
    }
    body = [idx[j] for j in BODY]
    dd = np.where(okd[:, body], d[:, body], np.nan)
    with warnings.catch_warnings():  # all-NaN rows (nobody seen) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        per_frame = np.nanmedian(dd, axis=1)
    out["still"] = {
        "frames whose body joints move < 0.001 shoulder widths (median joint)": float(np.nanmean(per_frame < 0.001)),
        "frames whose body joints move < 0.003 shoulder widths (median joint)": float(np.nanmean(per_frame < 0.003)),
    }
    # raw pixel steps of the body joints: OpenPose reports positions on its heatmap grid
    raw = seq.coords[:, body, 0]
    dx = np.abs(np.diff(raw, axis=0))
    dx = dx[np.isfinite(dx)]
    moving = dx[dx >= 0.2]
    hist, edges = np.histogram(moving, bins=np.arange(0.2, 8.01, 0.2)) if moving.size else (np.zeros(1), np.zeros(2))
    out["still"]["frame-to-frame x steps of body joints < 0.2 px (share)"] = float(np.mean(dx < 0.2)) if dx.size else None
    out["still"]["most common x step >= 0.2 px (px)"] = float(edges[int(np.argmax(hist))] + 0.1) if moving.size else None
    out["idle_speed_samples"] = (d[:, idx["right_wrist"]] * seq.fps)[~gm[1:] & okd[:, idx["right_wrist"]]]
    out["gesture_frac"] = float(gm.mean())
    return out


def _agg(stats: list[dict], key: str) -> dict:
    """Median and range over synthetic subjects of one stats section."""
    keys = [k for k in stats[0][key] if all(s[key].get(k) is not None for s in stats)]
    res = {}
    for k in keys:
        vals = [s[key][k] for s in stats]
        if isinstance(vals[0], list):
            res[k] = np.median(np.array(vals), axis=0).tolist()
        else:
            res[k] = (float(np.median(vals)), float(np.min(vals)), float(np.max(vals)))
    return res


# --------------------------------------------------------------------------- checkpoints on the real span
def _span(seq, gt, a: float, b: float):
    """The frames and annotations of [a, b) s (annotations wholly inside)."""
    events = [e for e in gt.events if a - 1e-6 <= e.start_s and e.end_s <= b + 1e-6]
    return seq.slice_time(a, b), gt.model_copy(update={"events": events})


def score_on_span(path: str, seq, gt, tune: bool = False) -> dict:
    """Transcription on one span: F1@0.3 at every level with chance, clip top-1, CPU seconds. ``tune``:
    the checkpoint's segmentation thresholds are first re-chosen on this same span (an upper bound)."""
    from dataclasses import replace

    from mgreason.recognizer.inference import Recognizer
    from mgreason.transcript_metrics import evaluate
    from mgreason.transcribe.pipeline import transcribe_sequence
    from mgreason.transcribe.tuning import ScoredRecording, checkpoint_segmentation, tune_segmentation

    name, path = path.split("=", 1) if "=" in path else (path, path)
    rec = Recognizer.load(None if path == "tiny-synth" else path)
    prm = checkpoint_segmentation(rec.config)
    t0 = time.process_time()
    res = transcribe_sequence(rec, seq, id=str(gt.id), params=prm)
    cpu = time.process_time() - t0
    if tune:
        sr = ScoredRecording(str(gt.id), res.scores.probs, seq.fps, gt, res.mask, float(seq.meta.get("start_s", 0.0)))
        prm = replace(tune_segmentation([sr], list(rec.labels), background=rec.background_index, start=prm).params)
        res = transcribe_sequence(rec, seq, id=str(gt.id), params=prm)
    ev = evaluate([(res.transcript, gt)], thresholds=(0.3,))
    known = [e for e in gt.events if e.label in rec.labels]
    clips = [seq.slice_time(e.start_s - float(seq.meta.get("start_s", 0.0)),
                            max(e.end_s, e.start_s + 0.2) - float(seq.meta.get("start_s", 0.0))) for e in known]  # fmt: skip
    scores = rec.classify(clips) if clips else []
    top1 = float(np.mean([rec.labels[int(np.argmax(s.probs))] == e.label for s, e in zip(scores, known)])) if clips else None
    lv = {k: v[0.3] for k, v in ev.levels.items()}
    return {
        "checkpoint": name + (" (thresholds tuned on this span)" if tune else ""),
        "events_pred": len(res.transcript.events),
        "events_gt": len(gt.events),
        "coarse_events": sum(e.label.endswith(" (coarse)") for e in res.transcript.events),
        "levels": {k: {"f1": round(v["f1"], 3), "chance": round(v["chance"], 3)} for k, v in lv.items()},
        "clip_top1_known": top1,
        "clips_known": len(known),
        "scores_cpu_s": round(cpu, 2),
        "calibration": rec.config.get("calibration"),
        "segmentation": prm.to_dict(),
    }


def synth_heldout_top1(paths: list[str]) -> dict[str, float]:
    """Top-1 of each checkpoint on the tiny-synth recipe's held-out synthetic test subjects."""
    import torch

    from mgreason.recognizer.config import load_config
    from mgreason.recognizer.data import ClipDataset, load_data
    from mgreason.recognizer.inference import Recognizer
    from mgreason.recognizer.train import evaluate

    cfg = load_config(REPO / "configs" / "recognizer" / "tiny-synth.yaml")
    bundle = load_data(cfg)
    out = {}
    for p in paths:
        name, p = p.split("=", 1) if "=" in p else (p, p)
        rec = Recognizer.load(None if p == "tiny-synth" else p)
        pos = {n: i for i, n in enumerate(rec.labels)}
        clips = [c.with_(label=pos[bundle.labels[c.label]]) for c in bundle.test if bundle.labels[c.label] in pos]
        ds = ClipDataset(clips, rec.layout, rec.clip_len, rec.streams, rec.use_confidence)
        ev = evaluate(rec.model, torch.utils.data.DataLoader(ds, batch_size=64), rec.labels, rec.device)
        out[name] = round(ev.top1, 4)
    return out


def _rows_table(rows: list[dict]) -> list[str]:
    L = ["| checkpoint | events (true) | F1@0.3 labels (chance) | coarse F1@0.3 (chance) | class-agnostic F1@0.3 | "
         "clip top-1 (known classes) | coarse events | scoring CPU s |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lv = r["levels"]
        L.append(f"| {r['checkpoint']} | {r['events_pred']} ({r['events_gt']}) | {lv['fine']['f1']:.3f} ({lv['fine']['chance']:.3f}) | "
                 f"{lv['coarse']['f1']:.3f} ({lv['coarse']['chance']:.3f}) | {lv['class-agnostic']['f1']:.3f} | "
                 f"{_fmt(r['clip_top1_known'])} (n={r['clips_known']}) | {r['coarse_events']} | {r['scores_cpu_s']} |")  # fmt: skip
    return L


def write_adaptation_report(rows: list[dict], synth_top1: dict, out: Path, meta: dict) -> Path:
    L = ["# Real-data adaptation: checkpoints on the validation span of iMiGUE video 298", ""]
    L += [f"Span {meta['span']} s of video 298 ({ONE}; {rows[0]['events_gt'] if rows else 0} annotated events). "
          "The fine-tuned checkpoints chose their epoch, temperature and segmentation thresholds on this same span, "
          "so their numbers here are optimistic; 'thresholds tuned on this span' gives the other checkpoints the "
          "same privilege. Chance = the same events with labels drawn from the span's annotation class frequencies.",
          "", f"Command: `{meta['command']}`; {meta['machine']}.", ""]  # fmt: skip
    L += _rows_table(rows)
    cal = [(r["checkpoint"], r["calibration"]) for r in rows if r.get("calibration")]
    if cal:
        L += ["", "Calibration (temperature scaling on the validation clips of the span, 10 bins):", ""]
        for name, c in cal:
            L.append(f"- {name}: T = {c['temperature']}, ECE {c['ece_before']} -> {c['ece_after']}, NLL {c['nll_before']} -> "
                     f"{c['nll_after']} on {c['n']} clips (top-1 {c['top1']}; {ONE}, few clips: a rough estimate)")  # fmt: skip
    if synth_top1:
        L += ["", "Held-out synthetic top-1 (the tiny-synth recipe's 4 test subjects):", ""]
        for k, v in synth_top1.items():
            L.append(f"- {k}: {100 * v:.1f} %")
    L += [""] + meta.get("notes", [])
    path = out / "sim2real_adaptation.md"
    path.write_text("\n".join(L) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- report
def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return f"{v[0]:.3g} ({v[1]:.3g}-{v[2]:.3g})"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def plots(real: dict, synth: list[dict], fixed: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mgreason.skeleton.layouts import get_layout

    lay = get_layout("imigue22")
    names = []
    # 1. normalised pose
    fig, ax = plt.subplots(figsize=(6, 6))
    for st, col, lab in ((real, "k", "real 298 (0-420 s)"), (_median_pose(synth), "tab:orange", "synthetic")):
        pos = st["position"]
        for a, b in lay.edges:
            pa, pb = pos.get(lay.joints[a]), pos.get(lay.joints[b])
            if pa and pb:
                ax.plot([pa[0], pb[0]], [pa[1], pb[1]], color=col, lw=1.5)
        pts = np.array([v for v in pos.values() if v])
        ax.scatter(pts[:, 0], pts[:, 1], color=col, s=12, label=lab)
    ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.set_title("median joint positions after normalisation\n(neck = 0, shoulder width = 1, image y down)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "sim2real_pose.png", dpi=110)
    plt.close(fig)
    names.append("sim2real_pose.png")
    # 2. idle wrist speed
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.logspace(-4.3, 1, 64)  # below 1e-4, so that held joints (speed 0, plotted at 1e-4) are counted

    def share(v: np.ndarray) -> np.ndarray:
        return np.full(len(v), 1.0 / max(len(v), 1))

    series = [(real["idle_speed_samples"], "k", "real 298"),
              (np.concatenate([s["idle_speed_samples"] for s in synth]), "tab:orange", "synthetic (before)")]  # fmt: skip
    if fixed:
        series.append((np.concatenate([s["idle_speed_samples"] for s in fixed]), "tab:blue", "synthetic, still tracker (after)"))
    for v, col, lab in series:
        ax.hist(v + 1e-4, bins=bins, weights=share(v), histtype="step", color=col, lw=2, label=lab)
    ax.set_xscale("log")
    ax.set_xlabel("right-wrist speed while idle (shoulder widths / s, +1e-4; a held joint = 1e-4)")
    ax.set_ylabel("share of idle frames")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "sim2real_idle_speed.png", dpi=110)
    plt.close(fig)
    names.append("sim2real_idle_speed.png")
    # 3. validity and confidence per group
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    groups = list(GROUPS)
    w = 0.38
    for k, key in enumerate(("valid", "confidence")):
        ax = axes[k]
        ax.bar(np.arange(len(groups)) - w / 2, [real[key][g] for g in groups], w, color="k", label="real 298")
        ax.bar(np.arange(len(groups)) + w / 2, [np.median([s[key][g] for s in synth]) for g in groups], w,
               color="tab:orange", label="synthetic")  # fmt: skip
        ax.set_xticks(np.arange(len(groups)))
        ax.set_xticklabels([g.split(" (")[0] for g in groups], rotation=20)
        ax.set_title("share of frames with the joint" if key == "valid" else "mean confidence when present")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "sim2real_confidence.png", dpi=110)
    plt.close(fig)
    names.append("sim2real_confidence.png")
    return names


def _median_pose(stats: list[dict]) -> dict:
    pos = {}
    for j in stats[0]["position"]:
        vals = [s["position"][j] for s in stats if s["position"][j] is not None]
        pos[j] = np.median(np.array(vals), axis=0).tolist() if vals else None
    return {"position": pos}


def write_report(real: dict, synth: list[dict], fixed: list[dict], still: float, scores: list[dict], pngs: list[str],
                 out: Path, meta: dict) -> Path:  # fmt: skip
    L = ["# Sim-to-real gap: iMiGUE video 298 (0-420 s) vs the synthetic generator", ""]
    L += [f"Real: the raw OpenPose output of iMiGUE video 298, frames 0-10,499 ({ONE}; 33 annotated events), mapped "
          "OpenPose-137 -> imigue22 exactly as the recognizer does. Synthetic: "
          f"{meta['n_synth']} sessions of {meta['minutes']} min (seeds 500..), default generator (`noise 1.0`, the "
          "tiny-synth training setting); synthetic cells give the median and (min-max) over those sessions. "
          f"'after' = the same generator with the still-tracker fix (`GeneratorConfig(still={still}, jitter={meta['jitter']}, grid_px={meta['grid']})`).", ""]  # fmt: skip
    L += [f"Command: `{meta['command']}`; {meta['machine']}.", ""]
    if meta.get("notes"):
        L += ["## Reading", ""] + [f"- {n}" for n in meta["notes"]] + [""]

    def table(title: str, key: str, fmt=_fmt):
        L.extend([f"## {title}", "", "| quantity | real 298 | synthetic (before) |" + (" synthetic, still (after) |" if fixed else ""),
                  "|---|---|---|" + ("---|" if fixed else "")])  # fmt: skip
        a = _agg(synth, key)
        b = _agg(fixed, key) if fixed else {}
        for k, v in real[key].items():
            row = f"| {k} | {fmt(v)} | {fmt(a.get(k))} |" + (f" {fmt(b.get(k))} |" if fixed else "")
            L.append(row)
        L.append("")

    table("Image frame (before normalisation)", "raw")
    table("Joint present (share of frames)", "valid")
    table("Confidence when present", "confidence")
    table("Hands", "hands")
    table("Motion speed (shoulder widths per second; gesture = inside an annotation)", "speed (shoulder widths / s)")
    table("Frame-to-frame jitter while idle", "idle jitter |second difference| (shoulder widths)")
    table("Keypoints that stand still", "still")
    L += ["## Bone lengths after normalisation (shoulder widths)", "", "| bone | real 298 | synthetic |", "|---|---|---|"]
    a = _agg(synth, "bones")
    for k, v in real["bones"].items():
        L.append(f"| {k} | {v:.2f} | {_fmt(a.get(k))} |")
    L += ["", "## Median joint positions after normalisation (x, y; neck = 0, shoulder width = 1, y down)", "",
          "| joint | real 298 | synthetic |", "|---|---|---|"]  # fmt: skip
    mp = _median_pose(synth)["position"]
    for j, v in real["position"].items():
        L.append(f"| {j} | {_xy(v)} | {_xy(mp.get(j))} |")
    L += [""] + [f"![{p}]({p})" for p in pngs] + [""]
    if scores:
        L += [f"## Checkpoints on the real 0-420 s span ({ONE})", ""] + _rows_table(scores) + [""]
    path = out / "sim2real.md"
    path.write_text("\n".join(L) + "\n", encoding="utf-8")
    return path


def _xy(v) -> str:
    return "-" if v is None else f"({v[0]:+.2f}, {v[1]:+.2f})"


def _command() -> str:
    """The command line, without the --note texts (they are printed in the report)."""
    import shlex

    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a == "--note":
            skip = True
            continue
        args.append(a)
    return "python benchmarks/bench_sim2real.py " + shlex.join(args) + (" --note ..." if "--note" in sys.argv else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--still", type=float, default=0.12, help="the generator's still-tracker setting to compare (0 = skip)")
    ap.add_argument("--jitter", type=float, default=0.4, help="the generator's jitter factor that goes with --still")
    ap.add_argument("--grid", type=float, default=1.95, help="the generator's pixel grid that goes with --still")
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--checkpoint", action="append", default=[], help="[NAME=]DIR: score on the real span (repeatable; tiny-synth = bundled)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--note", action="append", default=[], help="a line appended to the report")
    ap.add_argument("--adaptation", nargs=2, type=float, metavar=("FROM_S", "TO_S"),
                    help="instead: score the --checkpoint(s) on this span only (sim2real_adaptation.md)")  # fmt: skip
    ap.add_argument("--tune-baseline", action="store_true", help="--adaptation: also tiny-synth with thresholds tuned on the span")
    ap.add_argument("--synth-test", action="store_true", help="--adaptation: held-out synthetic top-1 of every checkpoint")
    args = ap.parse_args()
    if not TARBALL.is_file():
        print(f"skipped: {TARBALL} not found (needs ../shared/data/imigue)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.adaptation:
        a, b = args.adaptation
        with tempfile.TemporaryDirectory() as tmp:
            _, real_seq, gt = load_real(Path(tmp))
        seq, sgt = _span(real_seq, gt, a, b)
        rows = []
        for c in args.checkpoint:
            rows.append(score_on_span(c, seq, sgt))
            print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("calibration", "segmentation")}))
        if args.tune_baseline:
            rows.append(score_on_span("tiny-synth", seq, sgt, tune=True))
            print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("calibration", "segmentation")}))
        synth = synth_heldout_top1(args.checkpoint) if args.synth_test else {}
        load = os.getloadavg()[0]
        meta = {"span": f"{a:g}-{b:g}", "command": _command(),
                "machine": f"{os.cpu_count()} CPU cores, load average {load:.1f} (shared machine; CPU seconds are "
                f"process time), {time.time() - t0:.0f} s wall", "notes": args.note}  # fmt: skip
        print(f"wrote {write_adaptation_report(rows, synth, args.out, meta)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        _, real_seq, gt = load_real(Path(tmp))
    real = gap_stats(real_seq, gt)
    synth = [gap_stats(s, t) for s, t in synth_sessions(args.sessions, args.minutes, 0.0)]
    fixed = [gap_stats(s, t) for s, t in synth_sessions(args.sessions, args.minutes, args.still, args.jitter, args.grid)] if args.still > 0 else []
    pngs = plots(real, synth, fixed, args.out)
    scores = [score_on_span(c, real_seq, gt) for c in args.checkpoint]
    for s in scores:
        print(json.dumps({k: v for k, v in s.items() if k not in ("calibration", "segmentation")}))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    meta = {
        "n_synth": args.sessions,
        "jitter": args.jitter,
        "grid": args.grid,
        "minutes": args.minutes,
        "command": _command(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, load average {load:.1f} at the end "
        f"(shared machine: timings are indicative only), {time.time() - t0:.0f} s wall",
        "notes": args.note,
    }
    path = write_report(real, synth, fixed, args.still, scores, pngs, args.out, meta)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
