"""On the real iMiGUE items (../shared/data/imigue; skipped without it) the evidence-only ceiling of
scenarios/imigue_emotion.yaml (fitted on the train split, tested on the test split) is within 0.03 of the
iMiGUE benchmark's own regression on the same features and split (baselines.BagOfMG, kind 'all')."""

from __future__ import annotations

from pathlib import Path

import yaml

from mgreason import stats
from mgreason.baselines import BagOfMG
from mgreason.datasets.imigue import build_items, load_imigue, load_splits, write_items
from mgreason.eval.ceiling import scenario_ceiling
from mgreason.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "imigue_emotion.yaml"


def test_imigue_evidence_ceiling_matches_the_benchmark_regression(imigue_dir, tmp_path):
    ds = load_imigue(imigue_dir / "labels_20200831.csv")
    split = load_splits(imigue_dir / "splits.json", ds)
    items = {s: build_items(ds, split.ids(s), split=s) for s in ("train", "test")}
    for s, its in items.items():
        write_items(its, tmp_path / f"{s}.jsonl")
    spec = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    for k in ("system", "user"):
        spec["prompts"][k] = str((SCENARIO.parent / spec["prompts"][k]).resolve())
    spec["items"].update(path=str(tmp_path / "test.jsonl"), train_path=str(tmp_path / "train.jsonl"))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    sc = load_scenario(tmp_path / "s.yaml")

    ceiling = scenario_ceiling(sc).summary
    ev = next(r for r in ceiling.rows if r.features == "evidence")
    assert ceiling.cv.startswith("fitted on the training split") and ev.n == 100

    bench = BagOfMG(["positive", "negative"], kind="all").fit(
        [it.transcript for it in sc.train_items], [it.gold for it in sc.train_items]
    )
    bench_acc = stats.accuracy([it.gold for it in sc.items], bench.predict([it.transcript for it in sc.items]))
    assert abs(ev.accuracy - bench_acc) <= 0.03, (ev.accuracy, bench_acc)
    assert next(r for r in ceiling.rows if r.features == "majority").accuracy == 0.5
