"""The paired adaptation experiment (issue 31): does a model adapted WITH the MG evidence beat the same model adapted
WITHOUT it, on the same training items, scored on the same test items — and not lose to one adapted on SHUFFLED
evidence?

    python benchmarks/adapt_evidence.py SCENARIO --train TRAIN.jsonl --test TEST.jsonl [--test NAME=FILE ...]
        [--model M] [--epochs 3] [--max-train N] [--out DIR] [--report FILE.md]

For each condition (without_mg, with_mg, shuffled_mg; ``--conditions``) one LoRA adapter is trained on the
training items' prompts of that condition (``mgreason.adapt``: the same rendering path as scoring), then every
adapter scores every test set under its own condition, and so does the base model (zero-shot). The report gives
per test set: accuracy per (adapter, condition) with Wilson CIs, the most frequent answer's share, the margin's
ROC AUC and exact ties (flags: a constant answer, ties); the paired comparisons with-vs-without and
with-vs-shuffled (Δ accuracy with a paired bootstrap CI, exact McNemar p, Holm across the comparisons, the shift
of the gold label's margin); the evidence ceiling (logistic regressions on the same training items, tested on
the same test items, no LLM); and one verdict per comparison by run-scenario's rules (``mgreason.eval.verdict``).

Resumable: adapters and scores are kept under ``--out``; a rerun reuses what is done. The synthetic deception pack:

    mgreason generate-items deception --n 200 --seed 101 --out runs/adapt/train.jsonl
    mgreason generate-items deception --n 200 --seed 202 --out runs/adapt/fresh.jsonl
    python benchmarks/adapt_evidence.py scenarios/deception_interrogation.yaml --train runs/adapt/train.jsonl \\
        --test shipped=scenarios/data/deception_interrogation.jsonl --test fresh=runs/adapt/fresh.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _record(scenario_id: str, condition: str, item_id: str, score: dict, gold: str):
    """A scored prompt as the summaries take it (in memory only: the prompt itself is not kept in the scores file)."""
    from mgreason.eval.records import SampleRecord

    pred = score["pred"]
    return SampleRecord(
        run_id="adapt_evidence", scenario_id=scenario_id, item_id=item_id, condition=condition, prompt_sha256="",
        messages=[], label_logprobs=score["lp"], prediction=pred, gold=gold, correct=pred == gold,
        parse_ok=pred is not None,
    )  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--test", action="append", required=True, help="NAME=FILE or FILE (repeatable)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--conditions", nargs="+", default=["without_mg", "with_mg", "shuffled_mg"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-train", type=int, default=None)
    ap.add_argument("--max-test", type=int, default=None, help="only the first N items of each test set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "adapt_evidence")
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args()

    from mgreason.adapt.train import Hyper, adapt
    from mgreason.backends import create_backend
    from mgreason.eval.ceiling import ceiling_items, compute_ceiling
    from mgreason.eval.plan import build_requests
    from mgreason.eval.summary import comparison_summaries, condition_summaries, with_verdicts
    from mgreason.scenario import load_scenario

    args.out.mkdir(parents=True, exist_ok=True)
    tests = []
    for t in args.test:
        name, _, f = t.partition("=") if "=" in t else (Path(t).stem, "", t)
        tests.append((name, Path(f)))
    hp = Hyper(epochs=args.epochs, lr=args.lr, rank=args.rank, batch_size=args.batch_size, max_train=args.max_train)
    train_sc = load_scenario(args.scenario, items_path=args.train)
    labels = list(train_sc.labels)
    load0 = " ".join(f"{x:.1f}" for x in os.getloadavg())

    # 1. adapters (resumable)
    adapters: dict[str, Path] = {}
    timing: dict[str, dict] = {}
    for cond in args.conditions:
        d = args.out / f"adapter-{cond}"
        be = create_backend("hf", args.model)
        t0 = time.perf_counter()
        res = adapt(load_scenario(args.scenario, items_path=args.train), be, cond, d, str(args.train), hp, seed=args.seed)
        timing[cond] = {"wall_s": time.perf_counter() - t0, "per100": res.seconds_per_100, "card": res.card}
        adapters[cond] = d
        print(f"adapter {cond}: best epoch {res.card.best_epoch} ({res.card.stopped}); "
              f"{res.seconds_per_100 or 0:.1f} s per 100 training examples", file=sys.stderr)
        be.close()

    # 2. scores: every adapter (and the base model) on every test set, under its own condition
    def predictions(tag: str, adapter, test_file: Path, cond: str) -> dict[str, dict]:
        """item id -> {"pred": label, "lp": label log-probs}, kept under --out (a rerun reuses it)."""
        cache = args.out / f"scores-{tag}-{cond}-{test_file.stem}.json"
        if cache.exists():
            return json.loads(cache.read_text())
        sc = load_scenario(args.scenario, items_path=test_file)
        reqs = [r for r in build_requests(sc, seed=args.seed) if r.condition == cond]
        if args.max_test:
            reqs = reqs[: args.max_test]
        be = create_backend("hf", args.model, **({"adapter": str(adapter)} if adapter else {}))
        out = be.score_labels([r.messages for r in reqs], labels)
        be.close()
        pred = {}
        for r, res in zip(reqs, out):
            lp = res.label_logprobs or {}
            top = max(labels, key=lambda lab: (lp.get(lab, float("-inf")), -labels.index(lab))) if lp else None
            pred[r.item_id] = {"pred": top, "lp": lp or None}
        cache.write_text(json.dumps(pred))
        return pred

    lines = [f"# Adapting with and without MG evidence: {train_sc.id}", ""]
    lines += [f"- base model: `{args.model or 'smollm2-135m-instruct (embedded)'}`; LoRA rank {hp.rank}, alpha {hp.alpha}, "
              f"lr {hp.lr}, up to {hp.epochs} epochs, batch {hp.batch_size}, validation {hp.val_fraction:.0%} "
              f"(early stopping, patience {hp.patience}), seed {args.seed}",
              f"- training items: `{args.train}` ({timing[args.conditions[0]]['card'].n_train} train + "
              f"{timing[args.conditions[0]]['card'].n_val} validation)",
              f"- load average at the start: {load0} (2 cores)", ""]
    lines += ["| adapter | best epoch | stopped | validation curve (loss / accuracy) | s per 100 training examples |",
              "|---|---:|---|---|---:|"]
    for cond in args.conditions:
        c = timing[cond]["card"]
        curve = "; ".join(f"{p.epoch}: {_fmt(p.val_loss)} / {_fmt(p.val_accuracy)}" for p in c.curve)
        lines.append(f"| {cond} | {c.best_epoch} | {c.stopped} | {curve} | {_fmt(timing[cond]['per100'])} |")
    lines.append("")

    for name, f in tests:
        test_sc = load_scenario(args.scenario, items_path=f)
        gold_all = {it.id: it.gold for it in test_sc.items}
        scores = {("base", c): predictions("base", None, f, c) for c in args.conditions}
        scores.update({("adapted", c): predictions("adapted", adapters[c], f, c) for c in args.conditions})
        ids = [i for i in gold_all if all(i in p for p in scores.values())]
        # the project's own summaries, as run-scenario computes them: condition "adapted with_mg" etc.
        recs = [_record(train_sc.id, f"{tag} {c}", i, v[i], gold_all[i]) for (tag, c), v in scores.items() for i in ids]
        names = [f"{tag} {c}" for tag, c in scores]
        conds = condition_summaries(recs, labels, names)
        ceil = compute_ceiling(ceiling_items([it for it in test_sc.items if it.id in set(ids)], test_sc.spec), labels,
                               train=ceiling_items(train_sc.items, train_sc.spec), train_name=str(args.train),
                               group_column=test_sc.spec.items.fields.group, seed=args.seed)
        lines += [f"## Test set `{name}` ({len(ids)} items)", "",
                  "| model | condition | accuracy | 95% CI (Wilson) | most frequent answer (share) | margin AUC | exact ties |",
                  "|---|---|---:|---|---|---:|---:|"]
        for m in conds:
            tag, c = m.condition.split(" ")
            lines.append(f"| {tag} | {c} | {m.accuracy:.3f} | [{m.acc_ci_low:.3f}, {m.acc_ci_high:.3f}] | "
                         f"{m.top_label} ({_fmt(m.top_label_share)}) | {_fmt(m.margin_auc)} | {m.n_margin_ties} |")
        flags = [f for m in conds for f in m.flags]
        if flags:
            lines += ["", "**Flags:**", "", *[f"- {x}" for x in flags]]
            for x in flags:
                print(f"flag ({name}): {x}", file=sys.stderr)
        lines += ["", "Evidence ceiling (fitted on the training items, tested on these):", "",
                  "| features | accuracy | 95% CI |", "|---|---:|---|"]
        for row in ceil.summary.rows:
            if row.accuracy is None:
                lines.append(f"| {row.features} | — | {row.skipped_reason or ''} |")
            else:
                lines.append(f"| {row.features} | {row.accuracy:.3f} | [{row.ci[0]:.3f}, {row.ci[1]:.3f}] |")
        pairs = [(f"{tag} {a}", f"{tag} {b}") for tag in ("adapted", "base")
                 for a, b in (("without_mg", "with_mg"), ("shuffled_mg", "with_mg")) if a in args.conditions and b in args.conditions]
        comps = with_verdicts(comparison_summaries(recs, labels, pairs, item_ids=ids, seed=args.seed), conds, ceil.summary)
        lines += ["", "Paired comparisons (treatment − baseline, same items; Holm across the rows of this table). "
                  "Margin shift: the mean change of the gold label's margin (log p(gold) − log p(best other label)) "
                  "with a paired bootstrap CI:", "",
                  "| model | baseline → treatment | Δ accuracy | 95% CI (paired bootstrap) | McNemar b / c | exact p | p (Holm) | margin shift [95% CI] |",
                  "|---|---|---:|---|---|---:|---:|---|"]
        for c in comps:
            tag, a = c.baseline.split(" ")
            lo, hi = c.delta_acc_ci
            ms = c.margin_shift
            lines.append(f"| {tag} | {a} → {c.treatment.split(' ')[1]} | {c.delta_acc:+.3f} | [{lo:+.3f}, {hi:+.3f}] | "
                         f"{c.mcnemar_b} / {c.mcnemar_c} | {c.mcnemar_p:.3g} | {c.p_holm:.3g} | "
                         + (f"{ms:+.2f} [{c.margin_shift_ci[0]:+.2f}, {c.margin_shift_ci[1]:+.2f}] |" if ms is not None else "— |"))
        lines += ["", "Verdicts (`mgreason.eval.verdict`, the rules `run-scenario` uses):", "", *[f"- {c.verdict}" for c in comps]]
        lines.append("")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
