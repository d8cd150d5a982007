"""Transcript metrics on hand-computed cases (the expected numbers are worked out in the comments)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.errors import DataError
from mgreason.transcript_metrics import (
    average_precision,
    edit_score,
    evaluate,
    evaluate_paths,
    f1_at,
    load_pairs,
    match_events,
    mean_average_precision,
    segmental_f1,
    tiou,
)
from mgreason.transcript import MGEvent, Transcript


def ev(a: float, b: float, label: str, conf: float = 1.0, source: str = "annotation") -> MGEvent:
    return MGEvent(start_s=a, end_s=b, label=label, confidence=conf, source=source)


def tr(id: str, *events: MGEvent) -> Transcript:
    return Transcript(id=id, events=list(events))


GT = tr("v1", ev(0, 2, "a"), ev(5, 7, "a"), ev(10, 12, "b"))
PRED = tr(
    "v1",
    ev(0, 2, "a", 0.9, "recognizer"),  # IoU 1 with gt a[0,2]
    ev(5.5, 7.5, "a", 0.8, "recognizer"),  # IoU 1.5/2.5 = 0.6 with gt a[5,7]
    ev(10, 10.8, "b", 0.7, "recognizer"),  # IoU 0.8/2 = 0.4 with gt b[10,12]
    ev(20, 21, "a", 0.6, "recognizer"),  # nothing there: FP
    ev(5, 7, "b", 0.95, "recognizer"),  # right time, wrong label: FP
)


def test_tiou():
    assert tiou((0, 2), (0, 2)) == 1.0
    assert tiou((5.5, 7.5), (5, 7)) == pytest.approx(0.6)
    assert tiou((0, 1), (2, 3)) == 0.0
    assert tiou((0, 2), (1, 3)) == pytest.approx(1 / 3)
    assert tiou((1, 1), (1, 1)) == 1.0  # two identical instants


@pytest.mark.parametrize(
    "thr, tp, f1",
    [
        (0.1, 3, 0.75),  # P = 3/5, R = 3/3 -> F1 = 2*0.6*1/1.6 = 0.75
        (0.3, 3, 0.75),
        (0.5, 2, 0.5),  # b's IoU 0.4 fails: P = 2/5, R = 2/3 -> F1 = 2*(0.4*2/3)/(0.4+2/3) = 0.5
    ],
)
def test_f1_at_thresholds(thr, tp, f1):
    r = f1_at([(PRED, GT)], thr)
    assert r["tp"] == tp and r["n_pred"] == 5 and r["n_gt"] == 3
    assert r["f1"] == pytest.approx(f1)


def test_label_must_match_and_is_normalised():
    gt = tr("x", ev(0, 2, "Touching  Nose"))
    assert f1_at([(tr("x", ev(0, 2, "touching nose")), gt)], 0.5)["tp"] == 1
    assert f1_at([(tr("x", ev(0, 2, "touching ear")), gt)], 0.1)["tp"] == 0


def test_greedy_matching_by_confidence_and_best_iou():
    gt = [ev(0, 10, "a")]
    pred = [ev(0, 5, "a", 0.5), ev(0, 9, "a", 0.9)]
    flags, which = match_events(pred, gt, 0.5)
    assert flags == [False, True] and which == [None, 0]  # the confident one takes the only gt
    # among unmatched ground truth the best-overlapping one is taken
    gt2 = [ev(0, 2, "a"), ev(1, 3, "a")]
    flags, which = match_events([ev(1, 3, "a", 0.9)], gt2, 0.3)
    assert flags == [True] and which == [1]
    # a duplicate detection of one gesture is a false positive
    flags, _ = match_events([ev(0, 2, "a", 0.9), ev(0, 2, "a", 0.8)], [ev(0, 2, "a")], 0.5)
    assert flags == [True, False]


def test_average_precision_by_hand():
    # scores .9 TP, .8 FP, .7 TP with 2 gt: precision 1, 1/2, 2/3 at recall .5, .5, 1
    # interpolated: p(r<=.5)=1, p(.5<r<=1)=2/3 -> AP = .5*1 + .5*2/3
    assert average_precision([0.9, 0.8, 0.7], [True, False, True], 2) == pytest.approx(0.5 + 1 / 3)
    assert average_precision([], [], 3) == 0.0
    assert np.isnan(average_precision([0.5], [False], 0))
    assert average_precision([0.1, 0.9], [True, True], 2) == pytest.approx(1.0)


def test_map_by_hand():
    # class a: .9 TP, .8 TP, .6 FP over 2 gt -> AP 1; class b at 0.5: .95 FP (no overlap), .7 FP (IoU .4) -> 0
    m, per = mean_average_precision([(PRED, GT)], 0.5)
    assert per == {"a": pytest.approx(1.0), "b": pytest.approx(0.0)}
    assert m == pytest.approx(0.5)
    # at 0.3 b's .7 is a TP after the .95 FP: precision 1/2 at recall 1 -> AP .5; mAP (1 + .5) / 2
    m, per = mean_average_precision([(PRED, GT)], 0.3)
    assert per["b"] == pytest.approx(0.5) and m == pytest.approx(0.75)


def test_map_pools_recordings_per_class():
    # two recordings, class a: r1 pred .6 TP, r2 pred .9 FP; 1 gt each
    # sorted: .9 FP, .6 TP -> precision 0, 1/2 at recall 0, 1/2 -> AP = .5 * .5 = .25
    g1, g2 = tr("r1", ev(0, 1, "a")), tr("r2", ev(0, 1, "a"))
    p1, p2 = tr("r1", ev(0, 1, "a", 0.6)), tr("r2", ev(5, 6, "a", 0.9))
    m, per = mean_average_precision([(p1, g1), (p2, g2)], 0.5)
    assert per["a"] == pytest.approx(0.25) and m == pytest.approx(0.25)


def test_segmental_f1_by_hand():
    # temporal order: a[0,2] TP (IoU 1); b[5,7] FP (b gt has IoU 0); a[5.5,7.5] TP (.6);
    # b[10,10.8] IoU .4: TP at k=.25, FP at k=.5; a[20,21] FP
    r = segmental_f1([(PRED, GT)], 0.25)
    assert (r["tp"], r["n_pred"], r["n_gt"]) == (3, 5, 3) and r["f1"] == pytest.approx(0.75)
    r = segmental_f1([(PRED, GT)], 0.5)
    assert r["tp"] == 2 and r["f1"] == pytest.approx(0.5)
    # segmental F1 ignores confidence: a second detection of the same gesture is a FP whatever its score
    r = segmental_f1([(tr("x", ev(0, 2, "a", 0.1), ev(0.1, 2, "a", 0.9)), tr("x", ev(0, 2, "a")))], 0.5)
    assert (r["tp"], r["n_pred"]) == (1, 2)


def test_edit_score_by_hand():
    # pred labels in time order a b a b a, gt a a b: two deletions -> 100 * (1 - 2/5) = 60
    assert edit_score(PRED, GT) == pytest.approx(60.0)
    assert edit_score(tr("x"), tr("x")) == 100.0
    assert edit_score(tr("x"), GT) == 0.0


def test_empty_cases():
    r = f1_at([(tr("x"), tr("x"))], 0.5)
    assert (r["precision"], r["recall"], r["f1"]) == (1.0, 1.0, 1.0)  # nothing to find, nothing claimed
    r = f1_at([(tr("x"), GT)], 0.5)
    assert (r["precision"], r["recall"], r["f1"]) == (0.0, 0.0, 0.0)
    r = f1_at([(PRED, tr("v1"))], 0.5)
    assert (r["precision"], r["f1"]) == (0.0, 0.0)
    m, per = mean_average_precision([(PRED, tr("v1"))], 0.5)
    assert np.isnan(m) and per == {}


def test_evaluate_result_and_rendering():
    res = evaluate([(PRED, GT)])
    assert res.f1[0.3]["f1"] == pytest.approx(0.75)
    assert res.map[0.5] == pytest.approx(0.5)
    assert res.segmental[0.5]["f1"] == pytest.approx(0.5)
    d = res.to_dict()
    assert d["f1"]["0.3"]["f1"] == pytest.approx(0.75) and d["map"]["0.3"] == pytest.approx(0.75)
    assert d["per_recording"][0]["id"] == "v1"
    text = res.render()
    assert "0.3" in text and "75.0" in text and "Edit" in text
    json.dumps(d)


def test_directories_pair_by_id_and_report_missing(tmp_path):
    pd, gd = tmp_path / "pred", tmp_path / "gt"
    GT.write(gd / "v1.transcript.json")
    tr("v2", ev(0, 1, "a")).write(gd / "v2.transcript.json")
    PRED.write(pd / "something_else.json")  # same id as gt v1
    tr("v9", ev(0, 1, "a")).write(pd / "v9.json")  # no ground truth
    pairs, warns = load_pairs(pd, gd)
    assert [g.id for _, g in pairs] == ["v1", "v2"]
    assert pairs[1][0].events == []  # v2 has no prediction: all misses
    assert any("no prediction for 'v2'" in w for w in warns)
    assert any("'v9'" in w and "ignored" in w for w in warns)
    res = evaluate_paths(pd, gd)
    # v1: 3 TP @0.3 of 5 pred; v2: 1 FN -> P 3/5, R 3/4 -> F1 = 2*.6*.75/1.35
    assert res.f1[0.3]["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_directories_pair_by_file_name_when_ids_differ(tmp_path):
    pd, gd = tmp_path / "pred", tmp_path / "gt"
    GT.write(gd / "clip7.transcript.json")
    tr("other-id", *PRED.events).write(pd / "clip7.json")
    (pd / "clip7.meta.json").write_text("{}")  # transcribe's sidecar is not a transcript
    pairs, warns = load_pairs(pd, gd)
    assert len(pairs) == 1 and pairs[0][0].id == "other-id" and not warns


def test_bad_inputs(tmp_path):
    GT.write(tmp_path / "gt.json")
    (tmp_path / "bad.json").write_text('{"id": "x", "events": [{"start_s": 3, "end_s": 1, "label": "a"}]}')
    with pytest.raises(DataError, match="not a valid transcript"):
        load_pairs(tmp_path / "bad.json", tmp_path / "gt.json")
    with pytest.raises(DataError, match="both be files or both be directories"):
        load_pairs(tmp_path, tmp_path / "gt.json")
    with pytest.raises(DataError, match="no such file"):
        load_pairs(tmp_path / "nope.json", tmp_path / "gt.json")
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    tr("a1").write(tmp_path / "p" / "a1.json")
    tr("b1").write(tmp_path / "g" / "b1.json")
    with pytest.raises(DataError, match="no prediction matches"):
        load_pairs(tmp_path / "p", tmp_path / "g")


def test_cli_eval_transcripts(tmp_path, monkeypatch, capsys):
    PRED.write(tmp_path / "pred.json")
    GT.write(tmp_path / "gt.json")
    res = run_cli(["eval-transcripts", tmp_path / "pred.json", tmp_path / "gt.json", "--json", tmp_path / "m.json"],
                  monkeypatch, capsys)  # fmt: skip
    assert res.code == 0, res.err
    assert "75.0" in res.out and "segmental" in res.out
    d = json.loads((tmp_path / "m.json").read_text())
    assert d["f1"]["0.5"]["f1"] == pytest.approx(0.5)
    res = run_cli(["eval-transcripts", tmp_path / "pred.json", tmp_path / "gt.json", "--json", "-"], monkeypatch, capsys)
    assert json.loads(res.out)["map"]["0.3"] == pytest.approx(0.75)
    (tmp_path / "broken.json").write_text("{not json")
    res = run_cli(["eval-transcripts", tmp_path / "broken.json", tmp_path / "gt.json"], monkeypatch, capsys)
    assert_one_line_error(res, "broken.json", "not a valid transcript")
    res = run_cli(["eval-transcripts", tmp_path / "pred.json", tmp_path / "gt.json", "--tiou", "0,x"], monkeypatch, capsys)
    assert_one_line_error(res, "--tiou")
