"""DOLOS deception (issue 24): a local model zero-shot and k-shot on real MUMIN annotations, and the evidence ceiling.

    python benchmarks/dolos_deception.py                       # everything: the full test split, every condition
    python benchmarks/dolos_deception.py --n-test 40 --n-dev 24 --shots 2,4   # a stated subset (2 slow cores)

Steps (all from the shared annotations, ``--root``, default ../shared/data/dolos):
1. ``mgreason datasets build-items dolos`` into ``--out``/data: items, the seeded speaker-disjoint split
   (train: demonstrations; dev: choosing k; test: run once) and the scenario ``deception_dolos.yaml``.
2. The evidence ceiling on the whole test split: run-scenario's own (summary.json ``ceiling``: fitted on train,
   C by an inner CV grouped by speaker; computed by a mock run) and a bag-of-codes L2 logistic regression
   (mgreason.baselines.BagOfMG, taxonomy mumin) fitted on train+dev, beside the majority class. What a classifier
   gets from the evidence alone; DOLOS's README measured grouped-CV 0.534 vs majority 0.537.
3. k for the k-shot rows, chosen on the training side: each k of ``--shots`` on the first ``--n-dev`` dev items
   (demonstrations from train) under without_mg and with_mg; the best mean accuracy wins (ties: the smaller k).
4. The test side, run once: zero-shot and the chosen k-shot, the first ``--n-test`` test items (the split files
   alternate the labels, so any prefix is balanced), every condition.
The report (``--report``) states the split, the ceiling, the model rows, the subset, the time and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load() -> str:
    try:
        return "load %.1f / %.1f / %.1f" % os.getloadavg()
    except OSError:
        return "load n/a"


REUSE = {"on": False}


def run_scenario(yaml_path: Path, out: Path, model: str, backend: str, limit: int | None) -> dict:
    if REUSE["on"] and (out / "summary.json").is_file():
        import yaml

        old = json.loads((out / "summary.json").read_text())
        wanted = yaml.safe_load(yaml_path.read_text())["conditions"]
        if [c["condition"] for c in old["conditions"]] == wanted and (limit is None or old["n_items"] == limit):
            print(f"reusing {out}/summary.json", flush=True)
            meta = out / "bench.json"
            old["bench"] = json.loads(meta.read_text()) if meta.is_file() else {"wall_s": None, "load_start": "n/a", "load_end": "n/a"}
            return old
    cmd = [sys.executable, "-m", "mgreason.cli", "run-scenario", str(yaml_path), "--out", str(out)]
    cmd += ["--backend", backend] + (["--model", model] if backend != "mock" else [])
    if limit:
        cmd += ["--limit", str(limit)]
    start_load, t = load(), time.time()
    print("$", " ".join(cmd), f"({start_load})", flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"run-scenario failed ({r.returncode}): {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
    meta = {"wall_s": round(time.time() - t, 1), "load_start": start_load, "load_end": load()}
    (out / "bench.json").write_text(json.dumps(meta) + "\n")
    return {**json.loads((out / "summary.json").read_text()), "bench": meta}


def variant(base_yaml: Path, name: str, *, items: str, shots: int, conditions: list[str], seed: int) -> Path:
    import yaml

    spec = yaml.safe_load(base_yaml.read_text())
    spec["items"]["path"] = items
    spec["conditions"] = conditions
    spec.pop("comparisons", None)
    if shots:
        spec["demonstrations"] = {"path": "train.jsonl", "k": shots, "seed": seed}
    else:
        spec.pop("demonstrations", None)
    path = base_yaml.parent / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def ceiling(data_dir: Path) -> dict:
    from mgreason.baselines import BagOfMG
    from mgreason.stats import wilson_ci
    from mgreason.taxonomy import MUMIN
    from mgreason.transcript import Transcript

    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in (data_dir / f"{name}.jsonl").read_text().splitlines() if line.strip()]

    fit, test = read("train") + read("dev"), read("test")
    out = {}
    for kind in ("counts", "durations"):
        clf = BagOfMG(labels=("deceptive", "truthful"), kind=kind, taxonomy=MUMIN, seed=0)
        clf.fit([Transcript.model_validate(it["transcript"]) for it in fit], [it["label"] for it in fit])
        pred = clf.predict([Transcript.model_validate(it["transcript"]) for it in test])
        k = sum(p == it["label"] for p, it in zip(pred, test))
        out[kind] = {"accuracy": k / len(test), "ci": wilson_ci(k, len(test)), "n": len(test), "C": clf.C_}
    maj = max(("deceptive", "truthful"), key=lambda lab: sum(it["label"] == lab for it in fit))
    k = sum(it["label"] == maj for it in test)
    out["majority"] = {"accuracy": k / len(test), "ci": wilson_ci(k, len(test)), "n": len(test), "label": maj}
    return out


def project_ceiling(base_yaml: Path, out: Path) -> dict:
    """The run's own evidence ceiling (mgreason.eval.ceiling, summary.json's ``ceiling``) on the whole test split:
    fitted on train.jsonl (items.train_path), C by an inner CV grouped by speaker; a mock run computes it."""
    s = run_scenario(base_yaml, out, "", "mock", None)
    return s["ceiling"]


def ceiling_lines(ceil: dict, proj: dict | None) -> list[str]:
    lines = [
        "## Evidence ceiling (the codes alone, no LLM)",
        "",
        "What a classifier learns from the evidence, on the whole test split:",
        "",
        "| classifier | features | test accuracy | 95% CI (Wilson) | n |",
        "|---|---|---:|---|---:|",
    ]
    if proj:
        for r in proj["rows"]:
            if r.get("skipped_reason"):
                continue
            lines.append(f"| run-scenario's ceiling (summary.json) | {r['features']} | {r['accuracy']:.3f} | "
                         f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] | {r['n']} |")
    for kind in ("counts", "durations"):
        c = ceil[kind]
        lines.append(f"| BagOfMG (log1p, L2 LR, C={c['C']:g} by 5-fold CV) | codes: {kind} | {c['accuracy']:.3f} | "
                     f"[{c['ci'][0]:.3f}, {c['ci'][1]:.3f}] | {c['n']} |")
    m = ceil["majority"]
    lines.append(f"| majority class ({m['label']}, from train+dev) | none | {m['accuracy']:.3f} | [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}] | {m['n']} |")
    lines += ["", (f"run-scenario's ceiling: {proj['cv']}. " if proj else "")
              + "BagOfMG: fitted on train+dev. Both are speaker-disjoint from the test split."]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=REPO.parent / "shared" / "data" / "dolos")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--backend", default="hf")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "dolos")
    ap.add_argument("--report", type=Path, default=None, help="write the markdown report here")
    ap.add_argument("--n-test", type=int, default=None, help="first N test items (default: all 419)")
    ap.add_argument("--n-test-kshot", type=int, default=None,
                    help="first N test items of the k-shot test run (default: --n-test)")
    ap.add_argument("--n-dev", type=int, default=None, help="first N dev items for choosing k (default: all)")
    ap.add_argument("--shots", default="2,4,8", help="k values tried on dev (comma-separated; empty: zero-shot only)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the split and of the demonstrations")
    ap.add_argument("--ceiling-only", action="store_true", help="print the ceiling section only (no LLM)")
    ap.add_argument("--kshot-conditions", default="without_mg,with_mg,shuffled_mg,aggregate_mg",
                    help="conditions of the k-shot test run (default: all four)")
    ap.add_argument("--reuse", action="store_true", help="reuse runs whose summary.json exists in --out (a stopped run goes on)")
    args = ap.parse_args()
    REUSE["on"] = args.reuse
    if not (args.root / "Dolos.xlsx").is_file() and not (args.root / "train_dolos.xlsx").is_file():
        raise SystemExit(f"DOLOS annotations not found in {args.root} (see ../shared/data/dolos/README.md)")
    t0 = time.time()
    data_dir = args.out / "data"
    subprocess.run(
        [sys.executable, "-m", "mgreason.cli", "datasets", "build-items", "dolos", "--root", str(args.root), "--out", str(data_dir),
         "--seed", str(args.seed)],
        check=True,
    )
    base = data_dir / "deception_dolos.yaml"
    splits = json.loads((data_dir / "splits.json").read_text())
    ceil = ceiling(data_dir)
    proj = project_ceiling(base, args.out / "ceiling")
    print("ceiling:", json.dumps(ceil), flush=True)
    if args.ceiling_only:
        print("\n".join(ceiling_lines(ceil, proj)))
        return

    shots = [int(s) for s in args.shots.split(",") if s.strip()]
    conds = ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"]
    dev_rows: list = []
    test_rows: list = []
    state = {"best": None}

    def test_run(k: int) -> None:
        cs = conds if k == 0 else [c for c in args.kshot_conditions.split(",") if c.strip()]
        y = variant(base, f"test_k{k}", items="test.jsonl", shots=k, conditions=cs, seed=args.seed)
        n = args.n_test if k == 0 or args.n_test_kshot is None else args.n_test_kshot
        s = run_scenario(y, args.out / f"test_k{k}", args.model, args.backend, n)
        test_rows.append((k, s, s["bench"]["wall_s"], f"{s['bench']['load_start']} → {s['bench']['load_end']}"))
        write_report(args, t0, splits, (ceil, proj), dev_rows, state["best"], test_rows)

    # the test side is run once per k: zero-shot first (so that a stopped run still has it), then the k chosen on dev
    test_run(0)
    for k in shots:
        y = variant(base, f"dev_k{k}", items="dev.jsonl", shots=k, conditions=["without_mg", "with_mg"], seed=args.seed)
        s = run_scenario(y, args.out / f"dev_k{k}", args.model, args.backend, args.n_dev)
        accs = {c["condition"]: c["accuracy"] for c in s["conditions"]}
        dev_rows.append((k, accs, s["n_items"], s["bench"]["wall_s"], f"{s['bench']['load_start']} → {s['bench']['load_end']}"))
        write_report(args, t0, splits, (ceil, proj), dev_rows, state["best"], test_rows)
    if dev_rows:
        state["best"] = max(dev_rows, key=lambda r: (sum(r[1].values()) / len(r[1]), -r[0]))[0]
        test_run(state["best"])


def write_report(args, t0, splits, ceil, dev_rows, best, test_rows) -> None:  # noqa: ANN001
    lines = [
        "# DOLOS deception: a local model on real MUMIN annotations (issue 24)",
        "",
        f"Command: `python benchmarks/dolos_deception.py {' '.join(sys.argv[1:])}`; model `{args.model}` ({args.backend}); "
        f"this invocation {time.time() - t0:.0f} s on this machine (2 cores shared with other work; {load()} at its end; "
        "runs reused from an earlier invocation are timed below as they ran).",
        "",
        "Data: the DOLOS annotation release (1,678 game-show clips, 901 deception / 777 truth), read by "
        "`mgreason datasets build-items dolos`. Prompts show the MUMIN codes as a timeline (seconds from the clip "
        "start), never the participant, episode, show, verdict or gender; no words (DOLOS has no transcripts).",
        "",
        f"Speaker-disjoint split (seed {args.seed}): {splits['speaker']['summary']}; speakers in two parts: "
        f"{splits['speaker']['speakers_in_two_parts']}. The official folds share speakers: fold 1 has "
        f"{splits.get('protocol_fold1', {}).get('speakers_in_two_parts', 'n/a')} speakers in both train and test.",
        "",
        *ceiling_lines(*ceil),
    ]
    if dev_rows:
        lines += ["", "## Choosing k on the training side (dev part, demonstrations from train)", "",
                  "| k | n items | without_mg | with_mg | wall s | load (start → end) |", "|---:|---:|---:|---:|---:|---|"]
        for k, accs, n, sec, ld in dev_rows:
            lines.append(f"| {k} | {n} | {accs.get('without_mg', float('nan')):.3f} | {accs.get('with_mg', float('nan')):.3f} | {sec} | {ld} |")
        if best is not None:
            lines.append(f"\nChosen: k = {best} (best mean accuracy of the two conditions; ties: the smaller k).")
    lines += ["", "## Test side (run once)", "",
              "| shots | condition | n | accuracy | 95% CI (Wilson) | macro-F1 | label mass |", "|---:|---|---:|---:|---|---:|---:|"]
    for k, s, _, _ in test_rows:
        for c in s["conditions"]:
            lines.append(
                f"| {k} | {c['condition']} | {c['n']} | {c['accuracy']:.3f} | [{c['acc_ci_low']:.3f}, {c['acc_ci_high']:.3f}] | "
                f"{c['macro_f1']:.3f} | {c['label_mass_mean']:.3f} |"
            )
    lines += ["", "Paired comparisons (same items; paired bootstrap CI, McNemar exact p, Holm across the run's comparisons):", "",
              "| shots | baseline → treatment | n | Δ accuracy | 95% CI | McNemar b / c | p (Holm) | verdict |", "|---:|---|---:|---:|---|---|---:|---|"]
    for k, s, sec, ld in test_rows:
        for c in s["comparisons"]:
            lines.append(
                f"| {k} | {c['baseline']} → {c['treatment']} | {c['n']} | {c['delta_acc']:+.3f} | "
                f"[{c['delta_acc_ci'][0]:+.3f}, {c['delta_acc_ci'][1]:+.3f}] | {c['mcnemar_b']} / {c['mcnemar_c']} | {c['p_holm']:.3f} | "
                f"{c.get('verdict_code') or ''} |"
            )
    lines += [""] + [f"Test run with {k} shots: {sec} s wall, {s['seconds']:.0f} s of scoring ({ld})." for k, s, sec, ld in test_rows]
    if best is None and any(x.strip() for x in args.shots.split(",")):
        lines.append("\n(in progress: the k-shot rows follow when the dev runs are done)")
    report = "\n".join(lines) + "\n"
    print(report, flush=True)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report, encoding="utf-8")
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
