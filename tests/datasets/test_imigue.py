"""iMiGUE adapter: annotations → transcripts → items, the official split, recognized-transcript plumbing.

Tests marked with the ``imigue_dir`` fixture read the real annotations from
``../shared/data/imigue`` and skip cleanly when they are absent; the others use small
made-up files.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from mgreason.datasets.imigue import (
    IMIGUE_FPS,
    build_items,
    item_id,
    load_imigue,
    load_splits,
    read_transcripts_dir,
    write_items,
)
from mgreason.errors import DataError, DatasetMissingError
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario
from mgreason.taxonomy import IMIGUE
from mgreason.transcript import MGEvent, Transcript

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "imigue_emotion.yaml"
HEADER = "video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,subject_gender,subject_nationality,win_or_lose"


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run the `mgreason` entry point in-process: (exit code, stdout, stderr)."""
    from mgreason.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["mgreason", *args])
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _scenario_with_items(tmp_path: Path, items_path: Path) -> Path:
    """A copy of scenarios/imigue_emotion.yaml reading ``items_path`` (prompts resolved absolutely)."""
    spec = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    for k in ("system", "user"):
        spec["prompts"][k] = str((SCENARIO.parent / spec["prompts"][k]).resolve())
    spec["items"]["path"] = str(items_path)
    spec["items"]["train_path"] = str(items_path.parent / "train.jsonl")
    out = tmp_path / "imigue_emotion.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return out


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def ds(imigue_dir):
    return load_imigue(imigue_dir / "labels_20200831.csv")


@pytest.fixture(scope="module")
def split(imigue_dir, ds):
    return load_splits(imigue_dir / "splits.json", ds)


def _csv_rows(imigue_dir: Path) -> list[dict]:
    with (imigue_dir / "labels_20200831.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_all_videos_and_annotations(ds, imigue_dir):
    assert len(ds.videos) == 359
    rows = _csv_rows(imigue_dir)
    assert sum(len(a) for a in ds.annotations.values()) == len(rows) == 18498
    outcomes = Counter(v.outcome for v in ds.videos.values())
    assert set(outcomes) == {"Win", "Lose"}
    for v in ds.videos.values():
        assert v.label == {"Win": "positive", "Lose": "negative"}[v.outcome]


def test_official_emotion_split(split, ds):
    assert len(split.train) == 102 and len(split.test) == 100
    assert not set(split.train) & set(split.test)
    assert Counter(ds.label(v) for v in split.train) == {"positive": 51, "negative": 51}
    assert Counter(ds.label(v) for v in split.test) == {"positive": 50, "negative": 50}


def test_transcript_times_match_csv_rows(ds, imigue_dir):
    rows = _csv_rows(imigue_dir)
    by_video: dict[int, list[dict]] = {}
    for r in rows:
        by_video.setdefault(int(r["video_id"]), []).append(r)
    for vid, rs in by_video.items():
        t = ds.transcript(vid)
        assert t.id == item_id(vid) and t.fps == IMIGUE_FPS == 25.0 and t.taxonomy == "imigue"
        expected = sorted(
            (float(r["start_time"]), float(r["end_time"]), IMIGUE.by_raw_id(int(r["class"])).name) for r in rs
        )
        got = sorted((e.start_s, e.end_s, e.label) for e in t.events)
        assert got == expected, f"video {vid}"
        # class ids: 0-based taxonomy index; raw 99 (illustrative) is the last class
        for e in t.events:
            assert IMIGUE.by_label_id(e.label_id).name == e.label
            assert e.source == "annotation" and e.confidence == 1.0
        # frames are at 25 fps
        for r in rs:
            assert abs(int(r["start_frame"]) - float(r["start_time"]) * 25) <= 1.0
            assert abs(int(r["end_frame"]) - float(r["end_time"]) * 25) <= 1.0
        # duration: the last annotation's end (no recording lengths are known)
        assert t.duration_s == max(float(r["end_time"]) for r in rs)


def test_video_298_first_events(ds):
    t = ds.transcript(298)
    first = t.events[0]
    assert (first.start_s, first.end_s, first.label, first.label_id) == (6.7499, 10.2819, "touching or scratching head", 3)
    illustrative = [e for e in t.events if e.label == "illustrative hand gestures"]
    assert illustrative and all(e.label_id == 31 for e in illustrative)


def test_known_durations(imigue_dir, ds):
    d = load_imigue(imigue_dir / "labels_20200831.csv", durations={298: 900.0})
    assert d.transcript(298).duration_s == 900.0
    assert d.transcript(9).duration_s == ds.transcript(9).duration_s
    with pytest.raises(DataError, match="shorter than its last annotation"):
        load_imigue(imigue_dir / "labels_20200831.csv", durations={298: 10.0})


def test_items_balanced_order_and_gold(ds, split):
    items = build_items(ds, split.test, split="test")
    assert len(items) == 100
    assert [it["label"] for it in items[:6]] == ["positive", "negative"] * 3
    assert Counter(it["label"] for it in items[:20]) == {"positive": 10, "negative": 10}
    assert {it["video_id"] for it in items} == set(split.test)
    for it in items:
        assert it["label"] == ds.label(it["video_id"]) and it["split"] == "test"
        assert it["transcript_source"] == "annotation"
        t = Transcript.model_validate(it["transcript"])
        assert t == ds.transcript(it["video_id"]) and it["n_events"] == len(t.events)
        assert "win_or_lose" not in it and "Win" not in json.dumps(it) and "Lose" not in json.dumps(it)


def test_cli_build_items_and_scenario(imigue_dir, tmp_path, cli):
    out = tmp_path / "items"
    code, stdout, stderr = cli("imigue", "build-items", "--labels", str(imigue_dir / "labels_20200831.csv"), "--out", str(out))
    assert code == 0, stderr
    assert "102 items (51 positive, 51 negative)" in stdout and "100 items (50 positive, 50 negative)" in stdout
    test_items = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    assert len(test_items) == 100
    sc = load_scenario(_scenario_with_items(tmp_path, out / "test.jsonl"))
    assert [c.name for c in sc.conditions] == ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"]
    reqs = build_requests(sc)
    assert len(reqs) == 400
    by = {(r.item_id, r.condition): r.messages[-1]["content"] for r in reqs}
    # the outcome is never given; without_mg is the same prompt for every item
    assert len({by[(it.id, "without_mg")] for it in sc.items}) == 1
    for it in sc.items:
        for cond in ("without_mg", "with_mg", "shuffled_mg", "aggregate_mg"):
            text = by[(it.id, cond)].lower()
            assert "won" not in text and " win" not in text and "lost" not in text
        timeline = by[(it.id, "with_mg")]
        n = it.fields["n_events"]
        event_lines = [ln for ln in timeline.splitlines() if ln[:1].isdigit() and ":" in ln[:5]]
        assert len(event_lines) == min(n, 40)
        assert (f"the first 40 of {n} are shown" in timeline) == (n > 40)
        assert "micro-gestures in all" in by[(it.id, "aggregate_mg")]
        assert by[(it.id, "shuffled_mg")] != timeline or it.transcript.events == []


# --------------------------------------------------------------------------- recognized transcripts


def _sample_transcript(ds) -> Transcript:
    """A recognizer-style transcript of the 30 s OpenPose sample of video 298, built from its
    annotations inside the first 30 s (what a perfect recognizer would output)."""
    events = [
        MGEvent(start_s=e.start_s, end_s=e.end_s, label=e.label, label_id=e.label_id, confidence=0.8, source="recognizer")
        for e in ds.transcript(298).events
        if e.end_s <= 30.0
    ]
    return Transcript(id="298_openpose_first30s", fps=25.0, duration_s=30.0, taxonomy="imigue", events=events)


def test_recognized_transcripts_replace_annotations(imigue_dir, ds, tmp_path, cli):
    sample = imigue_dir / "openpose_298_first30s"
    if not sample.is_dir():
        pytest.skip("the 30 s OpenPose sample is not available")
    assert len(list(sample.glob("298_*_keypoints.json"))) == 750  # 30 s at 25 fps
    rec = _sample_transcript(ds)
    assert [e.label for e in rec.events] == ["touching or scratching head", "touching or scratching facial parts"]
    tdir = tmp_path / "recognized"
    rec.write(tdir / "298.json")
    got = read_transcripts_dir(tdir)
    assert list(got) == [298] and got[298].events == rec.events

    # API: the recognized transcript replaces the annotations of its video
    items = build_items(ds, [298, 297], transcripts=got, missing="annotation")
    by = {it["video_id"]: it for it in items}
    assert by[298]["transcript_source"] == "recognized" and by[297]["transcript_source"] == "annotation"
    t298 = Transcript.model_validate(by[298]["transcript"])
    assert t298.events == rec.events and t298.duration_s == 30.0 and t298.id == "298"
    assert by[298]["n_events"] == 2
    assert [it["video_id"] for it in build_items(ds, [298, 297], transcripts=got, missing="skip")] == [298]
    with pytest.raises(DataError, match="no recognized transcript for 1 of 2"):
        build_items(ds, [298, 297], transcripts=got)

    # CLI, with the user's own split file
    splits = tmp_path / "my_split.json"
    splits.write_text(json.dumps({"train": [297, 300], "test": [298, 9]}))
    out = tmp_path / "items"
    base = ["imigue", "build-items", "--labels", str(imigue_dir), "--splits", str(splits), "--out", str(out)]
    code, _, stderr = cli(*base, "--transcripts-dir", str(tdir))
    assert code == 2 and "no recognized transcript" in stderr
    code, _, stderr = cli(*base, "--transcripts-dir", str(tdir), "--missing", "annotation")
    assert code == 0, stderr
    test_items = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    src = {it["video_id"]: it["transcript_source"] for it in test_items}
    assert src == {298: "recognized", 9: "annotation"}

    # the recognized transcript reaches the prompt, with its confidences
    sc = load_scenario(_scenario_with_items(tmp_path, out / "test.jsonl"))
    msgs = {(r.item_id, r.condition): r.messages[-1]["content"] for r in build_requests(sc)}
    assert "0:06 touching or scratching head (4 s, confidence 0.80)" in msgs[("298", "with_mg")]
    assert "0:25 touching or scratching facial parts (1 s, confidence 0.80)" in msgs[("298", "with_mg")]
    assert "confidence" not in msgs[("009", "with_mg")]


def test_transcripts_dir_jsonl_and_errors(tmp_path):
    t1 = Transcript(id="imigue_12", events=[MGEvent(start_s=1, end_s=2, label="folding arms")])
    t2 = Transcript(id="whatever", events=[])
    d = tmp_path / "d"
    d.mkdir()
    (d / "all.jsonl").write_text(t1.model_dump_json() + "\n")
    t2.write(d / "0045_rec.json")
    (d / "0045_rec.meta.json").write_text('{"gaps": []}')  # `mgreason transcribe` sidecar: ignored
    t3 = Transcript(id="openpose_298_first30s", events=[])  # transcribe's default id: the input's name
    t3.write(d / "298.json")
    got = read_transcripts_dir(d)
    assert set(got) == {12, 45, 298}
    # a .json file's name wins over its transcript id
    Transcript(id="77", events=[]).write(d / "imigue_078.json")
    assert 78 in read_transcripts_dir(d) and 77 not in read_transcripts_dir(d)
    (d / "12.json").write_text(t1.model_dump_json())
    with pytest.raises(DataError, match="two transcripts for video 12"):
        read_transcripts_dir(d)
    (d / "12.json").write_text('{"id": "12", "events": [{"start_s": 3, "end_s": 1, "label": "x"}]}')
    with pytest.raises(DataError, match="not a transcript"):
        read_transcripts_dir(d)
    with pytest.raises(DataError, match="not found"):
        read_transcripts_dir(tmp_path / "nope")


# --------------------------------------------------------------------------- missing / malformed files (no real data)


def test_missing_files_say_how_to_obtain(tmp_path, cli):
    with pytest.raises(DatasetMissingError) as e:
        load_imigue(tmp_path / "labels_20200831.csv")
    msg = str(e.value)
    assert "linuxsino/iMiGUE" in msg and "mgreason imigue build-items" in msg and str(tmp_path) in msg
    with pytest.raises(DatasetMissingError, match="emotion split"):
        load_splits(tmp_path / "splits.json")
    code, _, stderr = cli("imigue", "build-items", "--labels", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "o"))
    assert code == 2 and "linuxsino/iMiGUE" in stderr
    assert not (tmp_path / "o").exists()


def test_scenario_without_items_says_how_to_obtain(tmp_path, cli):
    sc = _scenario_with_items(tmp_path, tmp_path / "missing" / "test.jsonl")
    with pytest.raises(DatasetMissingError) as e:
        load_scenario(sc)
    assert "mgreason imigue build-items" in str(e.value) and "linuxsino/iMiGUE" in str(e.value)
    code, _, stderr = cli("run-scenario", str(sc), "--backend", "mock")
    assert code == 2 and "build-items" in stderr
    spec = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    assert spec["items"]["path"] == "../data/imigue/test.jsonl"  # git-ignored data/ beside the scenarios


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_small_csv_any_path(tmp_path):
    p = _write_csv(
        tmp_path / "my labels.csv",
        [
            "5,1,2.0,50,4.0,100,17,1,F,X,Lose",
            "5,2,1.0,25,1.5,37,99,1,F,X,Lose",
            "7,1,,25,,75,1,2,M,Y,Win",  # times from frames at 25 fps
        ],
    )
    ds = load_imigue(p)
    assert ds.video_ids == [5, 7]
    t5 = ds.transcript(5)
    assert [(e.start_s, e.label) for e in t5.events] == [(1.0, "illustrative hand gestures"), (2.0, "folding arms")]
    assert t5.duration_s == 4.0 and ds.label(5) == "negative"
    t7 = ds.transcript(7)
    assert (t7.events[0].start_s, t7.events[0].end_s, t7.events[0].label) == (1.0, 3.0, "turtling neck")
    items = build_items(ds, [5, 7])
    assert [it["id"] for it in items] == ["007", "005"]  # positive first
    out = write_items(items, tmp_path / "x" / "items.jsonl")
    assert len(out.read_text().splitlines()) == 2
    splits = tmp_path / "s.json"
    splits.write_text(json.dumps({"emotion_video_split": {"train": [5], "test": [7]}}))
    assert load_splits(splits, ds).test == (7,)
    splits.write_text(json.dumps({"train": [5], "test": [8]}))
    with pytest.raises(DataError, match="absent from"):
        load_splits(splits, ds)
    splits.write_text(json.dumps({"train": [5], "test": [5]}))
    with pytest.raises(DataError, match="both train and test"):
        load_splits(splits)


@pytest.mark.parametrize(
    "rows, match",
    [
        (["5,1,2.0,50,4.0,100,42,1,F,X,Lose"], "unknown iMiGUE class id 42"),
        (["5,1,2.0,50,1.0,25,17,1,F,X,Lose"], "bad interval"),
        (["5,1,2.0,50,4.0,100,17,1,F,X,Draw"], "Win or Lose"),
        (["5,1,2.0,50,4.0,100,17,1,F,X,Lose", "5,2,5.0,125,6.0,150,17,1,F,X,Win"], "labelled both"),
        (["5,1,abc,50,4.0,100,17,1,F,X,Lose"], "not a number"),
    ],
)
def test_malformed_csv(tmp_path, rows, match):
    with pytest.raises(DataError, match=match):
        load_imigue(_write_csv(tmp_path / "l.csv", rows))


def test_not_an_imigue_csv(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        load_imigue(p)
