"""Timelines and the confusion matrix, checked from the figure's artists (not pixels)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from mgreason.errors import DataError
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import Transcript
from mgreason.viz.timeline import (
    Scores,
    confusion_at,
    load_scores,
    plan_timeline,
    plot_confusion,
    plot_timeline,
    timeline_link,
    write_timeline,
)

from .conftest import ARMS, EYES, HEAD, ev, gt_298, write_scores


def by_gid(fig, gid):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


def lane_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# ---------------------------------------------------------------------------- what is drawn
def test_lanes_bars_and_markers(pair):
    pred, gt = pair
    fig = plot_timeline(pred, gt, tiou=0.5)
    ax = fig.axes[0]
    # one lane per class that occurs, in iMiGUE order, iMiGUE names
    assert lane_labels(ax) == [HEAD, EYES, ARMS]
    assert [IMIGUE.by_name(n).label_id for n in lane_labels(ax)] == sorted(IMIGUE.by_name(n).label_id for n in (HEAD, EYES, ARMS))
    # the predicted head event: x 1.0..3.0, upper half of lane 0; its annotation: lower half of lane 0
    r = by_gid(fig, "pred:0")
    assert r.get_x() == pytest.approx(1.0) and r.get_width() == pytest.approx(2.0)
    assert -0.5 < r.get_y() and r.get_y() + r.get_height() <= 0.0
    g = by_gid(fig, "gt:0")
    assert g.get_x() == pytest.approx(1.2) and g.get_width() == pytest.approx(1.9)
    assert 0.0 <= g.get_y() and g.get_y() + g.get_height() < 0.5
    # the annotated eyes event sits in lane 1 (lower half), the predicted arms event in lane 2
    g1 = by_gid(fig, "gt:1")
    assert 1.0 <= g1.get_y() < 1.5 and g1.get_x() == pytest.approx(8.0)
    p1 = by_gid(fig, "pred:1")
    assert 1.5 < p1.get_y() < 2.0 and p1.get_x() == pytest.approx(8.2)
    # markers at tIoU 0.5: head matched (tIoU 0.857), arms a false alarm, eyes missed
    assert list(by_gid(fig, "match").get_xdata()) == pytest.approx([2.0])
    assert list(by_gid(fig, "false_alarm").get_xdata()) == pytest.approx([8.7])
    assert list(by_gid(fig, "miss").get_xdata()) == pytest.approx([8.5])
    # shading by confidence: the 0.9 bar is darker than the 0.3 bar
    assert sum(r.get_facecolor()[:3]) < sum(p1.get_facecolor()[:3])
    assert ax.get_xlim() == pytest.approx((0.0, 12.0))
    assert "1 matched, 1 false alarms, 1 missed" in ax.get_title(loc="left")


def test_tiou_changes_the_marks(pair):
    pred, gt = pair
    tight = plan_timeline(pred, gt, tiou=0.9)  # head tIoU is 0.857 < 0.9: no match any more
    assert tight.counts == {"pred": 2, "gt": 2, "match": 0, "false_alarm": 2, "miss": 2}
    loose = plan_timeline(pred, gt, tiou=0.1)
    assert loose.counts["match"] == 1 and loose.counts["miss"] == 1


def test_without_gt_there_are_no_marks(pair):
    fig = plot_timeline(pair[0])
    gids = {a.get_gid() for ax in fig.axes for a in ax.get_children()}
    assert {"pred:0", "pred:1"} <= gids
    assert not gids & {"match", "false_alarm", "miss", "gt:0"}
    assert lane_labels(fig.axes[0]) == [HEAD, ARMS]


def test_scores_heat_strip(tmp_path, pair):
    labels = [c.name for c in IMIGUE.classes] + ["background"]
    probs = write_scores(tmp_path / "s.npz", labels)
    scores = load_scores(tmp_path / "s.npz")
    fig = plot_timeline(pair[0], pair[1], scores=scores)
    im = by_gid(fig, "scores")
    arr = np.ma.getdata(im.get_array())
    assert arr.shape == (4, 300)  # three lanes + "any gesture"
    assert arr[0] == pytest.approx(probs[:, labels.index(HEAD)])
    assert arr[2] == pytest.approx(probs[:, labels.index(ARMS)])
    assert arr[3] == pytest.approx(1.0 - probs[:, -1])
    assert lane_labels(im.axes) == [HEAD, EYES, ARMS, "any gesture"]


def test_zoom(pair):
    pred, gt = pair
    plan = plan_timeline(pred, gt, start_s=5.0, end_s=10.0)
    assert plan.lanes == [EYES, ARMS]
    assert plan.outside == {"pred": 1, "gt": 1}
    fig = plot_timeline(pred, gt, start_s=5.0, end_s=10.0)
    assert fig.axes[0].get_xlim() == pytest.approx((5.0, 10.0))
    assert "outside" in fig.axes[0].get_title(loc="left")


def test_long_recording_fits_one_readable_figure():
    """14 minutes, 100 events over 8 classes: one figure of bounded size, every event drawn, short
    events still visible."""
    rng = np.random.default_rng(1)
    names = [IMIGUE.classes[i].name for i in (0, 3, 5, 7, 11, 16, 19, 31)]
    starts = np.sort(rng.uniform(0, 835, 100))
    events = [ev(float(s), float(s) + float(rng.uniform(0.3, 5.0)), names[k % 8], float(rng.uniform(0.1, 1.0)), "recognizer")
              for k, s in enumerate(starts)]  # fmt: skip
    tr = Transcript(id="long", duration_s=840.0, events=events)
    fig = plot_timeline(tr)
    w, h = fig.get_size_inches()
    assert w <= 18 and h <= 6
    bars = [a for a in fig.axes[0].patches if str(a.get_gid()).startswith("pred:")]
    assert len(bars) == 100
    assert min(b.get_width() for b in bars) >= 840 * 0.0015 - 1e-9  # 0.3-s events are widened
    assert len(lane_labels(fig.axes[0])) == 8


def test_svg_and_html_keep_the_event_ids(tmp_path, pair_files):
    p, g = pair_files
    path, _ = write_timeline(p, tmp_path / "t.svg", gt=g)
    svg = path.read_text()
    assert 'id="pred:0"' in svg and 'id="gt:1"' in svg and 'id="miss"' in svg
    path, _ = write_timeline(p, tmp_path / "t.html", gt=g)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert page.count("<tr>") == 1 + 4 and "false alarm" in page and "missed" in page


# ---------------------------------------------------------------------------- the CLI
def test_plot_cli(tmp_path, pair_files, monkeypatch, capsys):
    p, g = pair_files
    out = tmp_path / "t.png"
    code, stdout, err = run_cli(["plot", p, "--gt", g, "--out", out, "--tiou", "0.5"], monkeypatch, capsys)
    assert code == 0, err
    assert "3 lane(s), 2 predicted, 2 annotated (tIoU 0.5: 1 matched, 1 false alarms, 1 missed)" in stdout
    from PIL import Image

    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] >= 900


def _transcript(tmp_path, name, **kw):
    path = tmp_path / name
    Transcript(**kw).write(path)
    return path


def test_plot_bad_input(tmp_path, pair_files, monkeypatch, capsys):
    p, g = pair_files
    out = tmp_path / "x.png"

    def plot(*args):
        return run_cli(["plot", *args], monkeypatch, capsys)

    empty = _transcript(tmp_path, "empty.json", id="e", duration_s=30.0, events=[])
    assert_one_line_error(plot(empty, "--out", out), "empty.json", "no events")
    zero = _transcript(tmp_path, "zero.json", id="z", duration_s=0.0, events=[ev(0.0, 0.0, HEAD)])
    assert_one_line_error(plot(zero, "--out", out), "zero.json", "empty recording")
    assert_one_line_error(plot(p, "--out", out, "--from", "40"), "--from", "outside the recording (0-12.0 s)")
    assert_one_line_error(plot(p, "--out", out, "--to", "13"), "--to", "outside the recording")
    assert_one_line_error(plot(p, "--out", out, "--from", "5", "--to", "2"), "--to", "empty time range")
    odd = _transcript(tmp_path, "odd.json", id="o", events=[ev(1.0, 2.0, HEAD), ev(3.0, 4.0, "juggling")])
    assert_one_line_error(plot(p, "--gt", odd, "--out", out), "odd.json", "events[1].label", "unknown class 'juggling'")
    assert_one_line_error(plot(p, "--out", tmp_path / "x.pdf"), "x.pdf", "--out", "unsupported output .pdf")
    assert_one_line_error(plot(tmp_path / "nope.json", "--out", out), "nope.json", "no such transcript file")
    (tmp_path / "broken.json").write_text("{not json")
    assert_one_line_error(plot(tmp_path / "broken.json", "--out", out), "broken.json", "not a valid transcript")
    np.savez(tmp_path / "s.npz", probs=np.zeros((3, 2)))
    assert_one_line_error(plot(p, "--scores", tmp_path / "s.npz", "--out", out), "s.npz", "times", "transcribe --scores")
    np.savez(tmp_path / "s0.npz", times=np.zeros(0), probs=np.zeros((0, 1)), labels=np.array(["background"]))
    assert_one_line_error(plot(p, "--scores", tmp_path / "s0.npz", "--out", out), "s0.npz", "empty recording")
    assert_one_line_error(plot(p, "--gt", g, "--tiou", "0", "--out", out), "--tiou")
    assert not out.exists()


# ---------------------------------------------------------------------------- confusion, eval --plot
def test_confusion_counts(pair):
    pred, gt = pair
    conf = confusion_at([pair], tiou=0.3)
    assert conf.rows == [HEAD, EYES, ARMS, "(false alarm)"]
    assert conf.cols == [HEAD, EYES, ARMS, "(missed)"]
    c = dict(((r, k), int(conf.counts[i, j])) for i, r in enumerate(conf.rows) for j, k in enumerate(conf.cols))
    assert c[(HEAD, HEAD)] == 1
    assert c[(EYES, ARMS)] == 1  # the arms prediction covers the annotated eyes event: a confusion
    assert int(conf.counts.sum()) == 2
    strict = confusion_at([pair], tiou=0.9)  # nothing overlaps that much: all missed / false alarms
    s = dict(((r, k), int(strict.counts[i, j])) for i, r in enumerate(strict.rows) for j, k in enumerate(strict.cols))
    assert s[(HEAD, "(missed)")] == s[(EYES, "(missed)")] == 1
    assert s[("(false alarm)", HEAD)] == s[("(false alarm)", ARMS)] == 1
    fig = plot_confusion(conf)
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts}
    assert texts["cell:0:0"] == "1" and texts["cell:1:2"] == "1" and len(texts) == 2
    assert "1 of 2 annotated events matched with the right class" in fig.axes[0].get_title(loc="left")


def test_eval_transcripts_plot(tmp_path, pair_files, monkeypatch, capsys):
    p, g = pair_files
    out = tmp_path / "plots"
    code, stdout, err = run_cli(["eval-transcripts", p.parent, g.parent, "--plot", out, "--plot-tiou", "0.5"],
                                monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert "recordings: 1" in stdout
    assert sorted(f.name for f in out.iterdir()) == ["confusion_tiou0.5.csv", "confusion_tiou0.5.png", "rec1.timeline.png"]
    rows = (out / "confusion_tiou0.5.csv").read_text().splitlines()
    assert rows[0] == f"annotated \\ predicted,{HEAD},{EYES},{ARMS},(missed)"
    assert rows[1] == f"{HEAD},1,0,0,0" and rows[2] == f"{EYES},0,0,1,0"
    res = run_cli(["eval-transcripts", p, g, "--plot", tmp_path / "p2", "--plot-tiou", "1.5"], monkeypatch, capsys)
    assert_one_line_error(res, "--plot-tiou", "tIoU must be in (0, 1], got 1.5")
    (tmp_path / "file").write_text("x")
    res = run_cli(["eval-transcripts", p, g, "--plot", tmp_path / "file"], monkeypatch, capsys)
    assert_one_line_error(res, "file", "--plot", "must be a directory")


# ---------------------------------------------------------------------------- the sweep report link
def test_timeline_link(tmp_path, pair_files):
    p, _ = pair_files
    rep = tmp_path / "report"
    rel = timeline_link(p, rep)
    assert rel is not None and rel.startswith("timelines/rec1-") and rel.endswith(".png")
    target = rep / rel
    assert target.is_file()
    mtime = target.stat().st_mtime_ns
    assert timeline_link(p, rep) == rel and target.stat().st_mtime_ns == mtime  # drawn once
    assert timeline_link(None, rep) is None
    assert timeline_link(tmp_path / "missing.json", rep) is None
    empty = _transcript(tmp_path, "empty.json", id="e", events=[])
    assert timeline_link(empty, rep) is None
    odd = _transcript(tmp_path, "odd.json", id="o", events=[ev(1.0, 2.0, "juggling")])
    with pytest.raises(DataError, match="unknown class"):
        timeline_link(odd, rep)


# ---------------------------------------------------------------------------- real data
def test_real_annotations_of_video_298(real_sample, tmp_path):
    """The annotations of the shared 30-s OpenPose sample (iMiGUE video 298, one subject): the first
    annotated event (touching or scratching head, 6.75-10.28 s) is drawn where it belongs."""
    gt = gt_298()
    pred = Transcript(id="298-first30s", duration_s=30.0, taxonomy="imigue",
                      events=[ev(7.0, 10.0, HEAD, 0.8, "recognizer"), ev(20.0, 21.0, EYES, 0.4, "recognizer")])  # fmt: skip
    fig = plot_timeline(pred, gt)
    ax = fig.axes[0]
    assert lane_labels(ax) == [HEAD, EYES, "touching or scratching facial parts"]
    g0 = by_gid(fig, "gt:0")
    assert g0.get_x() == pytest.approx(6.7499, abs=1e-3) and g0.get_x() + g0.get_width() == pytest.approx(10.2819, abs=1e-3)
    assert 0.0 <= g0.get_y() < 0.5
    plan = fig.mgreason_plan
    assert plan.counts["match"] == 1 and plan.counts["gt"] == 2 and plan.outside["gt"] == len(gt.events) - 2
    json.dumps(plan.counts)


def test_long_heat_strip_keeps_one_frame_peaks():
    """14 minutes of scores at 25 fps are max-pooled to the figure's width; a one-frame peak survives."""
    T, labels = 21000, [HEAD, "background"]
    probs = np.zeros((T, 2))
    probs[:, 1] = 1.0
    probs[12345] = (1.0, 0.0)
    scores = Scores(np.arange(T) / 25.0, probs, labels)
    tr = Transcript(id="x", duration_s=840.0, events=[ev(100.0, 101.0, HEAD, 0.5, "recognizer")])
    fig = plot_timeline(tr, scores=scores)
    im = by_gid(fig, "scores")
    arr = np.ma.getdata(im.get_array())
    assert arr.shape[0] == 2 and arr.shape[1] < 3000
    assert arr[0].max() == 1.0 and arr[1].max() == 1.0  # the head peak and the "any gesture" peak
    x0, x1 = im.get_extent()[:2]
    col = int(np.argmax(arr[0]))
    t_col = x0 + (col + 0.5) * (x1 - x0) / arr.shape[1]
    assert abs(t_col - 12345 / 25.0) < (x1 - x0) / arr.shape[1]
    zoom = plot_timeline(tr, scores=scores, start_s=490.0, end_s=500.0)
    assert np.ma.getdata(by_gid(zoom, "scores").get_array()).shape[1] <= 10 * 25 + 3  # only the shown frames
