"""iMiGUE emotion understanding with and without micro-gesture evidence: baselines and LLM, same videos.

Everything is evaluated on the same items of one split of the official iMiGUE emotion
protocol (102 train / 100 test videos, balanced; win = positive, lose = negative):

* majority class and bag-of-MG logistic regressions (per-class counts / rates / durations /
  all), trained on the 102 train videos; the *primary* feature set is the one with the best
  cross-validated accuracy on the train split (chosen before looking at the test split);
* the LLM under scenarios/imigue_emotion.yaml's four conditions (without_mg, with_mg,
  shuffled_mg, aggregate_mg) on the embedded SmolLM2-135M-Instruct (or --model);
* paired statistics: the scenario's LLM comparisons, and every LLM condition vs the primary
  logistic regression (Δ accuracy with paired-bootstrap CI, exact McNemar; Holm over the
  family), and a threshold-free ROC AUC of the LLM's log-prob margin per condition.

Discipline: develop prompts on the train split (``--split train --limit N``); run the test
split once per model for the report::

    python benchmarks/imigue_emotion.py --split train --limit 20          # prompt development
    python benchmarks/imigue_emotion.py                                    # the report (test split)
    python benchmarks/imigue_emotion.py --run-dir runs/<id>                # re-report an existing run

Data: ``--data DIR`` holding labels_20200831.csv and splits.json (default: ../shared/data/imigue
beside the repository; a clean skip with instructions when absent). The test split writes the
report to benchmarks/results/imigue_emotion.md (between the GENERATED markers; the text around
them is kept).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imigue"
SCENARIO = REPO / "scenarios" / "imigue_emotion.yaml"
REPORT = REPO / "benchmarks" / "results" / "imigue_emotion.md"
BEGIN, END = "<!-- BEGIN GENERATED: benchmarks/imigue_emotion.py -->", "<!-- END GENERATED -->"
LABELS = ["positive", "negative"]

from mgreason.eval.format import fmt as _f, fmt_p as _p, fmt_signed as _s  # noqa: E402 - the shared formatters
from mgreason.stats import roc_auc  # noqa: E402 - the one rank-based AUC

ANCHORS = [
    ("ST-GCN (skeleton)", "0.50", "iMiGUE paper / linuxsino/iMiGUE README, emotion table"),
    ("MS-G3D (skeleton)", "0.55", "same"),
    ("I3D (RGB)", "0.57", "same"),
    ("TSM+LSTM on recognised MG sequence", "0.60", "same"),
    ("EALD-MLLM (Video-LLaMA + ChatGPT, zero-shot)", "≈ 0.58 (58.1%)", "arXiv 2405.00574; EALD data (275 videos), not the iMiGUE split"),
]


# --------------------------------------------------------------------------- scenario for a split


def scenario_for(split: str, items_dir: Path) -> Path:
    """The scenario file to run: the real one for the test split (its default items path), or a
    derived copy (same prompts, train items) written beside the train items."""
    if split == "test" and (items_dir.resolve() == (REPO / "data" / "imigue").resolve()):
        return SCENARIO
    return write_derived_scenario(split, items_dir, "imigue_emotion", "benchmarks/imigue_emotion.py")


def write_derived_scenario(split: str, items_dir: Path, name: str, by: str, **changes) -> Path:
    """``imigue_emotion.yaml`` with absolute template paths, the split's items and ``changes`` (spec fields),
    written as ``items_dir/<name>.<split>.yaml``."""
    spec = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    for k in ("system", "user"):
        spec["prompts"][k] = str((SCENARIO.parent / spec["prompts"][k]).resolve())
    spec["items"]["path"] = str((items_dir / f"{split}.jsonl").resolve())
    # the evidence ceiling: fitted on the train split for the test split; on the train split itself, grouped CV
    if split == "train":
        spec["items"].pop("train_path", None)
    else:
        spec["items"]["train_path"] = str((items_dir / "train.jsonl").resolve())
    spec.update(changes)
    out = items_dir / f"{name}.{split}.yaml"
    out.write_text(
        f"# derived from {SCENARIO.relative_to(REPO)} by {by}: {split} items\n"
        + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return out


# --------------------------------------------------------------------------- metrics


def weights_text(model: dict) -> str:
    """'weights sha256 X…' of a run's config.json model entry, and the file it was converted from, if any."""
    sha, src = str(model.get("sha256")), model.get("source_sha256")
    conv = f", stored {model.get('stored_dtype')} from the file with sha256 {src[:12]}…" if src and src != sha else ""
    return f"weights sha256 {sha[:12]}…{conv}"


def auc_ci(gold: Sequence[str], score: Sequence[float], n_boot: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    gold = np.asarray(gold)
    score = np.asarray(score, dtype=float)
    reps = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(gold), len(gold))
        a = roc_auc(gold[idx], score[idx], positive="positive")
        if not math.isnan(a):
            reps.append(a)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    return roc_auc(gold, score, positive="positive"), float(lo), float(hi)


# --------------------------------------------------------------------------- main


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory with labels_20200831.csv and splits.json")
    ap.add_argument("--labels", type=Path, default=None, help="annotation CSV (default: DATA/labels_20200831.csv)")
    ap.add_argument("--splits", type=Path, default=None, help="split JSON (default: DATA/splits.json)")
    ap.add_argument("--transcripts-dir", type=Path, default=None, help="recognized transcripts replacing the annotations")
    ap.add_argument("--split", choices=["train", "test"], default="test", help="evaluation split (develop on train)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N items of the split (balanced order)")
    ap.add_argument("--items-dir", type=Path, default=REPO / "data" / "imigue", help="where the items JSONL go (git-ignored)")
    ap.add_argument("--model", default=None, help="LLM (default: the embedded SmolLM2-135M-Instruct)")
    ap.add_argument("--backend", default="hf")
    ap.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads for the hf backend (default: all; 1 is much faster on a CPU shared with other jobs)",
    )
    ap.add_argument("--skip-llm", action="store_true", help="baselines only")
    ap.add_argument("--run-dir", type=Path, default=None, help="reuse this run's samples.jsonl instead of running the LLM")
    ap.add_argument("--runs-root", type=Path, default=REPO / "runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-boot", type=int, default=10000)
    ap.add_argument("--report", type=Path, default=None, help="report file (default: the results file for a full test run)")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--no-cache", action="store_true", help="recompute answers the response cache already holds")
    args = ap.parse_args(argv)

    from mgreason import stats
    from mgreason.baselines import FEATURE_KINDS, BagOfMG, MajorityClass
    from mgreason.datasets.imigue import (
        IMIGUE_OBTAIN,
        build_items,
        load_imigue,
        load_splits,
        read_transcripts_dir,
    )
    from mgreason.scenario.loader import write_items
    from mgreason.scenario import load_scenario
    from mgreason.transcript import Transcript

    labels_path = args.labels or args.data / "labels_20200831.csv"
    splits_path = args.splits or args.data / "splits.json"
    if not labels_path.is_file() or not splits_path.is_file():
        print(f"skipped: iMiGUE annotations not found ({labels_path}, {splits_path}).\n{IMIGUE_OBTAIN}")
        return 0

    t_start = time.perf_counter()
    ds = load_imigue(labels_path)
    split = load_splits(splits_path, ds)
    recognized = read_transcripts_dir(args.transcripts_dir) if args.transcripts_dir else None
    items = {s: build_items(ds, split.ids(s), split=s, transcripts=recognized) for s in ("train", "test")}
    for s, its in items.items():
        write_items(its, args.items_dir / f"{s}.jsonl")
    scenario_path = scenario_for(args.split, args.items_dir)
    sc = load_scenario(scenario_path)
    eval_items = sc.items[: args.limit] if args.limit else list(sc.items)
    ids = [it.id for it in eval_items]
    gold = [it.gold for it in eval_items]
    n = len(ids)

    # ---- baselines (trained on the train split only) ------------------------------------
    train_items = items["train"]
    tr_t = [Transcript.model_validate(it["transcript"]) for it in train_items]
    tr_y = [it["label"] for it in train_items]
    ev_t = [it.transcript for it in eval_items]
    systems: dict[str, dict] = {}  # name -> {"pred": [...], "score": [...] or None, "note": str}
    maj = MajorityClass(LABELS).fit(tr_y)
    systems["majority class"] = {
        "pred": maj.predict(n),
        "score": None,
        "note": f"train labels {tr_y.count('positive')}/{tr_y.count('negative')}; tie → '{maj.label_}'",
    }
    fitted = {}
    for kind in FEATURE_KINDS:
        m = BagOfMG(LABELS, kind=kind, seed=args.seed).fit(tr_t, tr_y)
        fitted[kind] = m
        train_acc = stats.accuracy(tr_y, m.predict(tr_t))
        systems[f"bag-of-MG LR ({kind})"] = {
            "pred": m.predict(ev_t),
            "score": m.predict_proba(ev_t).tolist(),
            "note": f"C={m.C_:g}; train CV acc {max(m.cv_accuracy_.values()):.3f}; train (resubstitution) acc {train_acc:.3f}",
            "cv": max(m.cv_accuracy_.values()),
        }
    primary_kind = max(FEATURE_KINDS, key=lambda k: (systems[f"bag-of-MG LR ({k})"]["cv"], -FEATURE_KINDS.index(k)))
    primary = f"bag-of-MG LR ({primary_kind})"

    # ---- the evidence ceiling, as run-scenario reports it (no LLM) -----------------------
    from mgreason.eval.ceiling import scenario_ceiling
    from mgreason.eval.report import ceiling_markdown

    t_ceiling = time.perf_counter()
    ceiling = scenario_ceiling(sc, seed=args.seed, item_ids=ids).summary
    print(f"evidence ceiling: {time.perf_counter() - t_ceiling:.1f} s", file=sys.stderr)

    # ---- LLM ----------------------------------------------------------------------------
    run_dir: Optional[Path] = None
    llm_conds: list[str] = []
    llm_info = ""
    verdicts: list[str] = []
    if not args.skip_llm:
        if args.run_dir is not None:
            run_dir = args.run_dir
        else:
            from mgreason.backends import create_backend
            from mgreason.eval.run import run_scenario

            t0 = time.perf_counter()
            opts = {"threads": args.threads} if args.threads else {}
            be = create_backend(args.backend, args.model, **opts)
            try:
                done = [0]

                def progress(k: int) -> None:
                    done[0] += k
                    if done[0] % 20 == 0 or done[0] == n * len(sc.conditions):
                        print(f"  {done[0]}/{n * len(sc.conditions)} prompts, {time.perf_counter() - t0:.0f} s", flush=True)

                from mgreason.eval.cache import ResponseCache, default_cache_path

                out = run_scenario(
                    sc, be, runs_root=args.runs_root, limit=args.limit, seed=args.seed, progress=progress, n_boot=args.n_boot,
                    cache=None if args.no_cache else ResponseCache(default_cache_path()), options=opts,
                )  # fmt: skip
            finally:
                be.close()
            run_dir = out.run_dir
            print(f"LLM run: {run_dir} ({time.perf_counter() - t0:.0f} s)")
        cfg = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        recs = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines() if line]
        by = {(r["condition"], r["item_id"]): r for r in recs}
        llm_conds = list(cfg["conditions"])
        missing = [(c, i) for c in llm_conds for i in ids if (c, i) not in by]
        if missing:
            raise SystemExit(f"run {run_dir} does not cover these items (e.g. {missing[:3]}); rerun without --run-dir")
        model_id = cfg["model"].get("id")
        run_summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        verdicts = [c["verdict"] for c in run_summary.get("comparisons", []) if c.get("verdict")]
        llm_info = (
            f"model `{model_id}` (`{cfg['model'].get('resolved')}`, "
            f"{weights_text(cfg['model'])}), backend {cfg['backend']}"
            + (f" ({cfg['model']['threads']} thread(s))" if cfg["model"].get("threads") else "")
            + f", scoring {cfg['scoring_mode']}, scenario sha256 {cfg['scenario_sha256'][:12]}…, "
            f"run `{Path(run_dir).name}` ({len(recs)} prompts scored in {run_summary.get('seconds', float('nan')):.0f} s)"
        )
        item_events = {it.id: len(it.transcript.events) if it.transcript else 0 for it in sc.items}
        for c in llm_conds:
            rs = [by[(c, i)] for i in ids]
            margin = [
                (r["label_logprobs"]["positive"] - r["label_logprobs"]["negative"]) if r.get("label_logprobs") else 0.0
                for r in rs
            ]
            note = ""
            if any(r.get("evidence_from") for r in rs):
                from scipy.stats import spearmanr

                n_ev = [item_events.get(r.get("evidence_from"), 0) for r in rs]
                rho = spearmanr(margin, n_ev)[0]
                note = (
                    f"margin {min(margin):+.2f}…{max(margin):+.2f}; Spearman(margin, events in the shown transcript) "
                    f"{rho:+.2f}"
                )
            elif len(set(margin)) == 1:
                note = f"margin {margin[0]:+.2f} for every item (same prompt)"
            systems[f"LLM {c}"] = {"pred": [r["prediction"] for r in rs], "score": margin, "note": note, "llm": True}

    # ---- statistics -----------------------------------------------------------------------
    rows = []
    for name, s in systems.items():
        m = stats.condition_metrics(gold, s["pred"], LABELS)
        auc = auc_ci(gold, s["score"], 2000, args.seed) if s["score"] is not None else None
        rows.append((name, m, auc, sum(p == "positive" for p in s["pred"]) / n, s.get("note", "")))
    comps = []
    if llm_conds:
        pairs = [tuple(p) for p in sc.spec.comparison_pairs()]
        pairs += [(primary, f"LLM {c}") for c in llm_conds]
        for a, b in pairs:
            na = a if a in systems else f"LLM {a}"
            nb = b if b in systems else f"LLM {b}"
            c = stats.compare_conditions(
                gold, systems[na]["pred"], systems[nb]["pred"], LABELS, na, nb, n_boot=args.n_boot, seed=args.seed
            )
            comps.append(c)
    comps.append(
        stats.compare_conditions(
            gold, systems["majority class"]["pred"], systems[primary]["pred"], LABELS, "majority class", primary,
            n_boot=args.n_boot, seed=args.seed,
        )
    )
    holm = stats.holm_adjust([c.mcnemar.p for c in comps])

    # ---- report -------------------------------------------------------------------------
    split_desc = f"{args.split} split" + (f", first {n} items (--limit {args.limit})" if args.limit else "")
    rerun_note = (
        f" (this re-reports the existing run `{args.run_dir}`; drop `--run-dir` to score the LLM again)"
        if args.run_dir is not None
        else ""
    )
    cmd = "python benchmarks/imigue_emotion.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    lines = [
        BEGIN,
        "",
        f"**{split_desc}: n = {n} videos** ({gold.count('positive')} positive / {gold.count('negative')} negative). "
        f"Baselines trained on the {len(tr_y)} train videos. "
        + ("Transcripts: recognized (`--transcripts-dir`)." if recognized else "Transcripts: iMiGUE ground-truth annotations.")
        + (
            " **On the train split the regressions are scored on their own training data** (resubstitution: "
            "an upper bound, not a generalisation estimate)."
            if args.split == "train"
            else ""
        ),
        "",
        f"Reproduce every number below: `{cmd}` (from the repository root, with the iMiGUE annotations in "
        f"`{os.path.relpath(args.data, REPO) if args.data == DEFAULT_DATA else args.data}`)"
        + (
            f"; the LLM rows alone: `mgreason imigue build-items --labels {os.path.relpath(labels_path, REPO)} "
            f"--splits {os.path.relpath(splits_path, REPO)} --out data/imigue && "
            f"mgreason run-scenario {os.path.relpath(scenario_path, REPO)} --seed {args.seed}"
            + (f" --limit {args.limit}" if args.limit else "")
            + (f" --model {args.model}" if args.model else "")
            + "`"
            if llm_conds
            else ""
        )
        + rerun_note
        + ".",
        "",
    ]
    if llm_info:
        lines += [f"LLM: {llm_info}.", ""]
    lines += [
        "| system | n | accuracy | 95% CI (Wilson) | macro-F1 | predicted positive | ROC AUC [95% bootstrap CI] | notes |",
        "|---|---:|---:|---|---:|---:|---|---|",
    ]
    for name, m, auc, ppos, note in rows:
        shown = f"**{name}** (primary)" if name == primary else name
        a = f"{auc[0]:.3f} [{auc[1]:.3f}, {auc[2]:.3f}]" if auc else "—"
        lines.append(
            f"| {shown} | {m.n} | {m.accuracy:.3f} | [{m.acc_ci_low:.3f}, {m.acc_ci_high:.3f}] | {_f(m.macro_f1)} | "
            f"{ppos:.2f} | {a} | {note} |"
        )
    lines += [
        "",
        f"Primary baseline = the feature set with the best 5-fold cross-validated accuracy on the train split "
        f"({primary_kind}); chosen before the test split is scored. ROC AUC: of P(positive) for the regressions, "
        "of the log-prob margin log p(positive) − log p(negative) for the LLM (threshold-free: it shows whether the "
        "scores rank win above loss videos even when the argmax answer is always the same label).",
        "",
        "Published anchors (quoted, not reproduced here; accuracy on the 100 iMiGUE test videos unless noted):",
        "",
        "| method | accuracy | source |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in ANCHORS]
    lines += ["", *ceiling_markdown(ceiling, heading="**Evidence ceiling** (what `run-scenario` reports beside the LLM; "
                                   "mgreason.eval.ceiling, scikit-learn):")]
    if verdicts:
        lines += ["", "Verdicts of the LLM run (`summary.json`):", "", *[f"- {v}" for v in verdicts]]
    lines += [
        "",
        f"Paired comparisons on the same {n} items (Δ = treatment − baseline; paired bootstrap {args.n_boot} resamples, "
        f"seed {args.seed}; exact McNemar; Holm-adjusted over the {len(comps)} comparisons):",
        "",
        "| baseline → treatment | acc | Δ accuracy [95% CI] | Δ macro-F1 [95% CI] | McNemar b/c | p | p (Holm) |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for c, ph in zip(comps, holm):
        lines.append(
            f"| {c.name_a} → {c.name_b} | {c.acc_a:.3f} → {c.acc_b:.3f} | {_s(c.delta_acc.delta)} "
            f"[{_s(c.delta_acc.ci_low)}, {_s(c.delta_acc.ci_high)}] | {_s(c.delta_macro_f1.delta)} "
            f"[{_s(c.delta_macro_f1.ci_low)}, {_s(c.delta_macro_f1.ci_high)}] | {c.mcnemar.b}/{c.mcnemar.c} | "
            f"{_p(c.mcnemar.p)} | {_p(ph)} |"
        )
    m_primary = fitted[primary_kind]
    lines += [
        "",
        f"Largest coefficients of the primary regression (standardised log1p features; > 0 favours positive): "
        + ", ".join(f"{name} {w:+.2f}" for name, w in m_primary.top_features(6))
        + ".",
        "",
        f"Total wall time of this script: {time.perf_counter() - t_start:.0f} s.",
        "",
        END,
    ]
    block = "\n".join(lines)
    print(block)

    full_test = args.split == "test" and not args.limit and not args.skip_llm
    report = args.report or (REPORT if full_test else None)
    if report is not None and not args.no_report:
        report.parent.mkdir(parents=True, exist_ok=True)
        old = report.read_text(encoding="utf-8") if report.is_file() else ""
        if BEGIN in old and END in old:
            new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END) :]
        else:
            new = (old.rstrip() + "\n\n" if old else "# iMiGUE emotion understanding with and without MG evidence\n\n") + block + "\n"
        report.write_text(new, encoding="utf-8")
        print(f"wrote {report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
