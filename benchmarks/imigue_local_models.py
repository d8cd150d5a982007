"""iMiGUE emotion (official split) on the local models: prompt options chosen on train, test run once (issue 14).

For every model (SmolLM2-135M, Qwen2.5-Coder-0.5B and -1.5B by default):

1. **Training split (102 videos): the trials.** Each trial is a variant of ``scenarios/imigue_emotion.yaml``
   run with ``mgreason run-scenario``: ``one_word`` (the shipped prompts), ``open`` (``answer_format: open``,
   the user turn ends with "Answer:") and, where listed, ``kshot4`` (four label-balanced demonstrations
   drawn from the training split, never the query; on the first ``--kshot-limit`` training videos, the other
   trials being compared on the same videos). Each trial reports accuracy, label mass and the ROC AUC of the
   with_mg margin.
2. **The rule, fixed before any test run:** among a model's trials whose label mass is ≥ 0.5 in every
   condition, the one with the highest with_mg ROC AUC on the training videos (ties: the earlier trial in
   the list above); when none reaches 0.5, the one with the highest mean label mass.
3. **Test split (100 videos), once per model,** with the chosen trial, then ``mgreason calibrate`` with the
   prior fitted on the *same trial's* training run (all 102 videos) and ``--contextual`` (content-free
   prompts of the same template): raw, prior-calibrated and contextually calibrated accuracy, paired
   comparisons with McNemar p and Holm over the scenario's five comparisons.

``--chosen MODEL=TRIAL`` skips step 1 and the prior for that model: its test split is scored with a trial
chosen earlier by the same rule (the earlier report holds that trial table). This is how a test run is
redone after a change to the scoring itself (issue 23: label logits in float32), without a second look at
the training trials; only the contextual calibration is then reported.

Runs go under ``--work`` and are reused when complete (``summary.json`` present), so the script resumes;
the response cache answers prompts already scored. The report is written to
``benchmarks/results/imigue_local_models.md`` (``--report``)::

    python benchmarks/imigue_local_models.py --data ../shared/data/imigue
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from imigue_emotion import DEFAULT_DATA, write_derived_scenario  # noqa: E402

MODELS = ["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"]
CONDITIONS = ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"]
TRIALS = ("one_word", "open", "kshot4")  # the prompt options trial_changes() knows


def trial_changes(name: str, items_dir: Path) -> dict[str, Any]:
    if name == "one_word":
        return {}
    if name == "open":
        return {"answer_format": "open"}
    if name == "kshot4":
        return {"demonstrations": {"path": str((items_dir / "train.jsonl").resolve()), "k": 4, "seed": 0}}
    raise SystemExit(f"unknown trial {name!r}; one of {', '.join(TRIALS)}")


TIME_FILE = "bench_time.json"  # written beside each run: how long it took and the load, reported when it is reused


def run(scenario: Path, model: str, out: Path, limit: Optional[int], log: list[str]) -> Path:
    name = f"{model} {out.name}"
    if (out / "summary.json").is_file():
        t = json.loads((out / TIME_FILE).read_text()) if (out / TIME_FILE).is_file() else None
        log.append(f"{name}: reused `{out.relative_to(REPO) if out.is_relative_to(REPO) else out}`" + (f" ({_took(t)})" if t else ""))
        return out
    cmd = [sys.executable, "-m", "mgreason.cli", "run-scenario", str(scenario), "--model", model, "--out", str(out), "--n-boot", "2000"]
    if limit:
        cmd += ["--limit", str(limit)]
    t0, c0, l0 = time.perf_counter(), os.times(), os.getloadavg()[0]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    c1 = os.times()
    t = {"wall_s": round(time.perf_counter() - t0), "cpu_s": round(c1.children_user + c1.children_system - c0.children_user - c0.children_system),
         "load_start": l0, "load_end": os.getloadavg()[0]}  # fmt: skip
    (out / TIME_FILE).write_text(json.dumps(t) + "\n")
    log.append(f"{name}: {_took(t)}")
    return out


def _took(t: dict) -> str:
    load = f", 1-min load average {t['load_start']:.1f} → {t['load_end']:.1f}" if t.get("load_start") is not None else ""
    return f"{t['wall_s']:.0f} s wall, {t['cpu_s']:.0f} CPU-s{load}{'; ' + t['note'] if t.get('note') else ''}"


def records(run_dir: Path, ids: Optional[set[str]] = None) -> list[dict]:
    out = []
    for line in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            if ids is None or r["item_id"] in ids:
                out.append(r)
    return out


def metrics(recs: list[dict]) -> dict[str, dict[str, float]]:
    from mgreason import stats

    out = {}
    for c in CONDITIONS:
        rs = [r for r in recs if r["condition"] == c]
        if not rs:
            continue
        ok = [r for r in rs if r.get("label_logprobs")]
        mass = [r["label_mass"] for r in ok if r.get("label_mass") is not None]  # a probability
        auc = stats.roc_auc(
            [r["gold"] for r in ok], [r["label_logprobs"]["positive"] - r["label_logprobs"]["negative"] for r in ok], positive="positive"
        )
        out[c] = {
            "n": len(rs),
            "accuracy": sum(bool(r["correct"]) for r in rs) / len(rs),
            "label_mass": sum(mass) / len(mass) if mass else float("nan"),
            "auc": auc,
            "positive_share": sum(r.get("prediction") == "positive" for r in rs) / len(rs),
        }
    return out


def choose(trials: dict[str, dict[str, dict[str, float]]]) -> tuple[str, str]:
    ok = [t for t, m in trials.items() if all(v["label_mass"] >= 0.5 for v in m.values())]
    if ok:
        best = max(ok, key=lambda t: (trials[t]["with_mg"]["auc"], -list(trials).index(t)))
        return best, f"label mass ≥ 0.5 in every condition: {', '.join(ok)}; highest with_mg AUC: {best}"
    best = max(trials, key=lambda t: (sum(v["label_mass"] for v in trials[t].values()), -list(trials).index(t)))
    return best, f"no trial reaches label mass 0.5; highest mean label mass: {best}"


def f3(x: Any) -> str:
    return "–" if x is None or x != x else f"{x:.3f}"


def test_section(model: str, best: str, prior_run: Optional[Path], args: argparse.Namespace, log: list[str], why: str) -> str:
    """The test split, run once with trial ``best``; calibrated with the prior of ``prior_run`` (when given)
    and contextually."""
    from mgreason.eval.calibration import contextual_for_run, write_calibrated

    lines: list[str] = []
    sc = write_derived_scenario("test", args.items_dir, f"imigue_local_{best}", "benchmarks/imigue_local_models.py", **trial_changes(best, args.items_dir))
    test_dir = run(sc, model, args.work / model / f"test_{best}", None, log)
    fit = contextual_for_run(test_dir)
    _, data = write_calibrated(test_dir, prior_run, contextual=fit, n_boot=10000, seed=0)
    raw = json.loads((test_dir / "summary.json").read_text())
    rawc = {c["treatment"] + "|" + c["baseline"]: c for c in raw["comparisons"]}
    lines += [
        f"Test split (100 videos), {why}, run once (`{test_dir.relative_to(REPO) if test_dir.is_relative_to(REPO) else test_dir}`); "
        + (f"prior fitted on the `{best}` training run ({data['prior']['n_items']} videos); " if data["prior"] else "no prior (no training run); ")
        + f"contextual offsets from {len(data['contextual']['prompts'])} content-free prompts:",
        "",
        "| condition | accuracy | prior-calibrated | contextual | ROC AUC | label mass |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in data["conditions"]:
        lines.append(
            f"| {r['condition']} | {f3(r['accuracy'])} | {f3(r['accuracy_calibrated'])} | {f3(r['accuracy_contextual'])} | "
            f"{f3(r['roc_auc'])} | {f3(r['label_mass_mean'])} |"
        )
    lines += [
        "",
        "| comparison | raw Δ, p (Holm) | prior-calibrated Δ [95% CI], p (Holm) | contextual Δ [95% CI], p (Holm) |",
        "|---|---|---|---|",
    ]
    pc = {c["treatment"] + "|" + c["baseline"]: c for c in data["comparisons_calibrated"]}
    cc = {c["treatment"] + "|" + c["baseline"]: c for c in data["comparisons_contextual"]}

    def cell(c: Optional[dict]) -> str:
        if c is None:
            return "–"
        lo, hi = c["delta_acc_ci"]
        return f"{c['delta_acc']:+.3f} [{lo:+.3f}, {hi:+.3f}], p {c['mcnemar_p']:.3f} ({f3(c.get('p_holm'))})"

    for key, c in rawc.items():
        t, b = key.split("|")
        lines.append(f"| {t} − {b} | {cell(c)} | {cell(pc.get(key))} | {cell(cc.get(key))} |")
    lines.append("")
    verdicts = [c["verdict"] for c in raw["comparisons"] if c.get("verdict")]  # runs made since issue 23
    if verdicts:
        lines += ["Verdicts (raw scores, `summary.json`):", "", *[f"- {v}" for v in verdicts], ""]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--trials", nargs="+", default=["one_word", "open"], choices=TRIALS, help="trials for every model")
    ap.add_argument("--kshot-models", nargs="*", default=["smollm2-135m-instruct"], help="models that also try kshot4")
    ap.add_argument("--kshot-limit", type=int, default=30, help="training videos for the kshot4 trial")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "imigue_local_models")
    ap.add_argument("--items-dir", type=Path, default=REPO / "data" / "imigue")
    ap.add_argument("--skip-test", action="store_true", help="trials only")
    ap.add_argument(
        "--chosen", nargs="*", default=[], metavar="MODEL=TRIAL",
        help="test MODEL with TRIAL, chosen earlier by the rule; no training trials, no prior (contextual calibration only)",
    )  # fmt: skip
    ap.add_argument("--report", type=Path, default=REPO / "benchmarks" / "results" / "imigue_local_models.md")
    ap.add_argument("--note-file", type=Path, default=None, help="markdown put under the report's title")
    args = ap.parse_args(argv)

    labels, splits = args.data / "labels_20200831.csv", args.data / "splits.json"
    if not labels.is_file() or not splits.is_file():
        print(f"skipped: iMiGUE annotations not found under {args.data}")
        return 0
    subprocess.run(
        [sys.executable, "-m", "mgreason.cli", "imigue", "build-items", "--labels", str(labels), "--splits", str(splits),
         "--out", str(args.items_dir)], check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    log: list[str] = []
    sections: list[str] = []
    # the evidence ceiling of the test items (fitted on the train split; no LLM), the same for every model
    from mgreason.eval.ceiling import scenario_ceiling
    from mgreason.eval.report import ceiling_markdown
    from mgreason.scenario import load_scenario

    base = write_derived_scenario("test", args.items_dir, "imigue_local_ceiling", "benchmarks/imigue_local_models.py")
    sections.append(
        "\n".join(ceiling_markdown(scenario_ceiling(load_scenario(base)).summary, heading="### Evidence ceiling (test split)"))
        + "\n"
    )
    chosen: dict[str, str] = {}
    for kv in args.chosen:
        m, sep, t = kv.partition("=")
        if not sep or t not in TRIALS:
            raise SystemExit(f"--chosen {kv!r}: expected MODEL=TRIAL with TRIAL one of {', '.join(TRIALS)}")
        chosen[m] = t
    for model in args.models:
        if model in chosen:
            why = f"`{chosen[model]}`, chosen earlier by the rule on the training split (`--chosen`)"
            sections.append(f"### {model}\n\n" + test_section(model, chosen[model], None, args, log, why))
            print(sections[-1], flush=True)
            continue
        trials = list(args.trials) + (["kshot4"] if model in args.kshot_models else [])
        runs: dict[str, Path] = {}
        for t in trials:
            sc = write_derived_scenario("train", args.items_dir, f"imigue_local_{t}", "benchmarks/imigue_local_models.py", **trial_changes(t, args.items_dir))
            limit = args.kshot_limit if t == "kshot4" else None
            runs[t] = run(sc, model, args.work / model / f"train_{t}", limit, log)
        # every trial compared on the videos all trials ran on
        common = set.intersection(*({r["item_id"] for r in records(d)} for d in runs.values()))
        table = {t: metrics(records(d, common)) for t, d in runs.items()}
        best, why = choose(table)
        lines = [
            f"### {model}",
            "",
            f"Training split, {len(common)} videos (the videos every trial ran on); accuracy / label mass / share of "
            "'positive' answers per condition, and the with_mg ROC AUC:",
            "",
            "| trial | " + " | ".join(CONDITIONS) + " | with_mg AUC |",
            "|---|" + "---|" * len(CONDITIONS) + "---:|",
        ]
        for t, m in table.items():
            cells = [f"{f3(m[c]['accuracy'])} / {f3(m[c]['label_mass'])} / {f3(m[c]['positive_share'])}" for c in CONDITIONS]
            lines.append(f"| {t}{' **(chosen)**' if t == best else ''} | " + " | ".join(cells) + f" | {f3(m['with_mg']['auc'])} |")
        lines += ["", f"Rule: {why}.", ""]
        if not args.skip_test:
            lines.append(test_section(model, best, runs[best], args, log, f"`{best}`"))
        sections.append("\n".join(lines))
        print("\n".join(lines), flush=True)
    cmd = "python benchmarks/imigue_local_models.py " + " ".join(a for a in (argv or sys.argv[1:]))
    body = "\n".join(sections)
    args.report.write_text(
        "# iMiGUE emotion (official split) on the local models: options chosen on train, test run once\n\n"
        + (args.note_file.read_text(encoding="utf-8") + "\n" if args.note_file else "")
        + f"Command: `{cmd.strip()}` (written by the script; the rule and trials are in its docstring)\n\n{body}\n\nRun times (`run-scenario` subprocesses on this 2-core machine; answers already in the response cache are not recomputed):\n\n"
        + "\n".join(f"- {x}" for x in log)
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
