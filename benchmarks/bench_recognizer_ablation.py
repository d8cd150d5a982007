"""Recogniser ablation: plain backbone vs + spatio-temporal balanced fusion, and augmentation variants.

Held-out-subject synthetic split (the generator's test subjects never appear in training), several
seeds (each seed changes the synthetic people and clips, the initialisation, the augmentation draws
and the batch order; within a seed every variant sees the same data, so differences are paired).
Reports the *last epoch's* test top-1/top-5 (no epoch picking on the test subjects), mean ± sd over
seeds, and the mean gate (spatial / temporal) of the gated variants.

    python benchmarks/bench_recognizer_ablation.py                 # default size (~25 CPU-min)
    python benchmarks/bench_recognizer_ablation.py --quick         # reduced size (~10 CPU-min)
    python benchmarks/bench_recognizer_ablation.py --variants plain-noaug,gate-mgaug --seeds 5

Writes the table to ``benchmarks/results/recognizer_ablation.md`` (``--out``). Synthetic data only:
the numbers rank design choices on the generator, they are not accuracies on real recordings.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: no spinning threads on a busy CPU

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

MG_AUG = {
    "rotate": {"p": 0.5, "max_deg": 10},
    "scale": {"p": 0.5},
    "shear": {"p": 0.3, "max_shear": 0.1},
    "jitter": {"p": 0.5, "sigma": 0.005},
    "speed": {"p": 0.5},
    "motion_crop": {"p": 0.3},
    "repeat_crop": {"p": 0.3},
    "posterize": {"p": 0.1},
    "mask": {"p": 0.1},
    "flip": {"p": 0.5},
}
SPATIAL_ONLY = {k: v for k, v in MG_AUG.items() if k in ("rotate", "scale", "shear", "jitter", "mask", "flip")}
TEMPORAL_ONLY = {k: v for k, v in MG_AUG.items() if k in ("speed", "motion_crop", "repeat_crop", "posterize")}
# "naive strong" augmentation as contrastive pipelines use it: large rotation/shear, heavy jitter, frequent masking
STRONG_AUG = {
    "rotate": {"p": 0.8, "max_deg": 45},
    "scale": {"p": 0.8, "low": 0.7, "high": 1.3, "anisotropy": 0.2},
    "shear": {"p": 0.8, "max_shear": 0.3},
    "jitter": {"p": 0.8, "sigma": 0.05},
    "mask": {"p": 0.5, "max_parts": 3},
    "flip": {"p": 0.5},
}

GATE = {"mode": "gate"}
VARIANTS: dict[str, dict[str, Any]] = {
    "plain-noaug": {"fusion": {"mode": "none"}, "augment": {}},
    "plain-mgaug": {"fusion": {"mode": "none"}, "augment": MG_AUG},
    "gate-noaug": {"fusion": GATE, "augment": {}},
    "gate-mgaug": {"fusion": GATE, "augment": MG_AUG},
    "fixed-mgaug": {"fusion": {"mode": "fixed"}, "augment": MG_AUG},
    "gate-noloss-mgaug": {"fusion": {"mode": "gate", "aux_weight": 0.0, "balance_weight": 0.0}, "augment": MG_AUG},
    "gate-spatialaug": {"fusion": GATE, "augment": SPATIAL_ONLY},
    "gate-temporalaug": {"fusion": GATE, "augment": TEMPORAL_ONLY},
    "gate-strongaug": {"fusion": GATE, "augment": STRONG_AUG},
}
DESCRIPTION = {
    "plain-noaug": "plain backbone (GAP + linear), no augmentation",
    "plain-mgaug": "plain backbone, MG-aware augmentation",
    "gate-noaug": "+ fusion (learned gate, aux + balance losses), no augmentation",
    "gate-mgaug": "+ fusion, MG-aware augmentation (the tiny-synth recipe's set)",
    "fixed-mgaug": "fusion with a fixed ½–½ gate, MG-aware augmentation",
    "gate-noloss-mgaug": "learned gate without aux / balance losses, MG-aware augmentation",
    "gate-spatialaug": "+ fusion, spatial augmentations only (rotate/scale/shear/jitter/mask/flip)",
    "gate-temporalaug": "+ fusion, temporal augmentations only (speed/motion crop/repeat crop/posterize)",
    "gate-strongaug": "+ fusion, naive strong augmentation (±45°, shear 0.3, σ 0.05, masking p 0.5)",
}

# confusable neighbours + periodic + static classes (raw iMiGUE ids), plus background
DEFAULT_CLASSES = [1, 4, 5, 7, 11, 12, 17, 22, 23, 24, 31, 99]


def base_config(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    return {
        "name": "ablation",
        "seed": seed,
        "data": {
            "clip_len": args.clip_len,
            "synth": {
                "subjects": args.subjects,
                "test_subjects": args.test_subjects,
                "val_subjects": 0,
                "clips_per_class": args.clips_per_class,
                "classes": args.classes,
                "background": True,
                "seed": seed,
            },
        },
        "model": {"size": "tiny", "streams": ["joint", "bone", "motion"]},
        "optim": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": 0.003,
            "weight_decay": 0.0005,
            "warmup_epochs": 1,
            "label_smoothing": 0.1,
            "num_threads": args.threads,
            "device": args.device,
        },
    }


def run(args: argparse.Namespace) -> str:
    import torch

    from mgreason.recognizer.config import TrainConfig
    from mgreason.recognizer.data import load_data
    from mgreason.recognizer.train import train

    variants = args.variants
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    t_all = time.time()
    c_all = time.process_time()
    for seed in args.seed_list:
        base = base_config(args, seed)
        cfg0 = TrainConfig.model_validate(base)
        t0 = time.time()
        data = load_data(cfg0)
        print(
            f"seed {seed}: {len(data.train)} train / {len(data.test)} test clips, {len(data.labels)} classes "
            f"(data {time.time() - t0:.0f} s)",
            flush=True,
        )
        for v in variants:
            spec = VARIANTS[v]
            d = dict(base)
            d["model"] = dict(base["model"], fusion=spec["fusion"])
            d["augment"] = spec["augment"]
            cfg = TrainConfig.model_validate(d)
            t1, c1 = time.time(), time.process_time()
            res = train(cfg, data=data, progress=False, save=False)
            last = res.history[-1]
            gates = list(last.get("gate_per_class", {}).values())
            g = [statistics.mean(x[0] for x in gates), statistics.mean(x[1] for x in gates)] if gates else None
            rec = {"top1": last["top1"], "top5": last["top5"], "wall_s": time.time() - t1,
                   "cpu_s": time.process_time() - c1, "gate": g}  # fmt: skip
            results[v].append(rec)
            print(
                f"  {v:20s} top-1 {rec['top1']:.3f} top-5 {rec['top5']:.3f}"
                + (f" gate s/t {g[0]:.2f}/{g[1]:.2f}" if g else "")
                + f"  ({rec['wall_s']:.0f} s wall, {rec['cpu_s']:.0f} s CPU)",
                flush=True,
            )
    wall, cpu = time.time() - t_all, time.process_time() - c_all
    return report(args, results, wall, cpu, torch.__version__)


def _ms(xs: list[float]) -> str:
    if not xs:
        return "-"
    m = statistics.mean(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{100 * m:.1f} ± {100 * sd:.1f}"


def report(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]], wall: float, cpu: float, torch_version: str) -> str:
    from mgreason.taxonomy import IMIGUE

    base_name = "plain-noaug" if "plain-noaug" in results else next(iter(results))
    base_top1 = [r["top1"] for r in results[base_name]]
    lines = [
        "# Recogniser ablation (synthetic, held-out subjects)",
        "",
        f"Command: `python benchmarks/bench_recognizer_ablation.py {' '.join(args.argv)}`".rstrip(),
        "",
        f"* Data: mgreason.synth, {len(args.classes)} classes + background "
        f"({', '.join(IMIGUE.by_raw_id(r).short or IMIGUE.by_raw_id(r).name for r in args.classes)}), "
        f"{args.clips_per_class} clips per class, {args.subjects} synthetic subjects of which {args.test_subjects} "
        "are held out for testing (subject-disjoint), default tracker noise.",
        f"* Model: tiny ST-GCN++ (joint+bone+motion, early fusion), clip_len {args.clip_len}, {args.epochs} epochs, "
        f"batch {args.batch_size}, AdamW 3e-3 cosine, label smoothing 0.1.",
        f"* Seeds: {', '.join(map(str, args.seed_list))} (each seed: new synthetic people and clips, init, "
        "augmentation draws; all variants of a seed share its data: paired).",
        "* Metric: test top-1 / top-5 (%) **of the last epoch** (no epoch picking on the test subjects), mean ± sd over seeds;"
        " Δ = mean paired difference in top-1 vs the first row.",
        f"* Machine: {platform.machine()}, torch {torch_version}, {args.threads} thread(s), device {args.device}; "
        f"total {wall / 60:.1f} min wall, {cpu / 60:.1f} CPU-min"
        + (" (a shared, heavily loaded 2-core VM: wall times are not representative)" if args.busy_note else "")
        + ".",
        "",
        "| variant | what | top-1 | top-5 | Δ top-1 | gate s / t | CPU-s / run |",
        "|---|---|---|---|---|---|---|",
    ]
    for v, rs in results.items():
        t1 = [r["top1"] for r in rs]
        t5 = [r["top5"] for r in rs]
        delta = [a - b for a, b in zip(t1, base_top1)]
        gates = [r["gate"] for r in rs if r["gate"]]
        g = f"{statistics.mean(x[0] for x in gates):.2f} / {statistics.mean(x[1] for x in gates):.2f}" if gates else "-"
        dm = f"{100 * statistics.mean(delta):+.1f}" if v != base_name else "0"
        cpu_s = statistics.mean(r["cpu_s"] for r in rs)
        lines.append(f"| {v} | {DESCRIPTION[v]} | {_ms(t1)} | {_ms(t5)} | {dm} | {g} | {cpu_s:.0f} |")
    lines += [
        "",
        f"Per-seed top-1 (%): "
        + "; ".join(f"{v}: " + ", ".join(f"{100 * r['top1']:.1f}" for r in rs) for v, rs in results.items()),
        "",
        "Reading: chance is "
        f"{100 / (len(args.classes) + 1):.1f} %. With ≥ 3 seeds and a few hundred test clips, differences "
        "smaller than about two sds are within noise. These are synthetic gestures (the generator's own "
        "motion models and tracker noise); the ranking says which design choices help *on the generator*, "
        "not what happens on real recordings.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (>= 3 for the mean ± sd table)")
    p.add_argument("--seed-start", type=int, default=0)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    p.add_argument("--classes", default=",".join(map(str, DEFAULT_CLASSES)), help="raw iMiGUE ids")
    p.add_argument("--clips-per-class", type=int, default=30)
    p.add_argument("--subjects", type=int, default=10)
    p.add_argument("--test-subjects", type=int, default=3)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--clip-len", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="reduced size: 24 clips/class, 6 epochs, 5 variants")
    p.add_argument("--busy-note", action="store_true", help="mark wall times as taken on a busy shared machine")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "recognizer_ablation.md")
    args = p.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.clips_per_class, args.epochs = 24, 6
        if "--variants" not in " ".join(argv):
            args.variants = "plain-noaug,plain-mgaug,gate-noaug,gate-mgaug,gate-strongaug"
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in args.variants if v not in VARIANTS]
    if bad:
        p.error(f"unknown variant(s) {bad}; choose from {list(VARIANTS)}")
    args.classes = [int(c) for c in str(args.classes).split(",")]
    args.seed_list = list(range(args.seed_start, args.seed_start + args.seeds))
    if args.seeds < 3:
        print("note: fewer than 3 seeds; the sd is not meaningful", file=sys.stderr)
    text = run(args)
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
