"""A scenario whose items are recordings runs end to end in one `run-scenario` with the embedded model
(SmolLM2): the recordings are transcribed on demand with the named checkpoint, the run's config.json records
the checkpoint identity and the transcripts' hashes, and a second run reuses the cached transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import REPO, run_cli

SHARED_OPENPOSE = REPO.parent / "shared" / "data" / "imigue" / "openpose_298_first30s"


def _write_scenario(root: Path, recordings: list[Path], checkpoint: str, labelled: bool) -> Path:
    items = root / "items.jsonl"
    rows = []
    for k, rec in enumerate(recordings):
        row = {"id": f"rec{k}", "recording": str(rec), "context": "A tennis player answers journalists after a match."}
        if labelled:
            row["label"] = ["positive", "negative"][k % 2]
        rows.append(row)
    items.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = yaml.safe_load((REPO / "scenarios" / "tasks" / "emotion.yaml").read_text(encoding="utf-8"))
    spec["id"] = "recordings_e2e"
    spec["prompts"] = {k: str((REPO / "scenarios" / "tasks" / v).resolve()) for k, v in spec["prompts"].items()}
    spec["items"] = {"path": "items.jsonl", "fields": {"label": "label" if labelled else None}}
    spec["transcripts"] = {"source": "recognizer", "checkpoint": checkpoint}
    spec["conditions"] = ["without_mg", "with_mg"] + (["shuffled_mg"] if len(recordings) > 1 else [])
    path = root / "recordings.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _run_twice(path: Path, tmp_path: Path, monkeypatch, capsys, second_backend: list[str]) -> tuple[dict, dict, str]:
    first = run_cli(["run-scenario", path, "--out", tmp_path / "run1"], monkeypatch, capsys)
    assert first.code == 0, first.err
    assert "transcribed" in first.err
    second = run_cli(["run-scenario", path, "--out", tmp_path / "run2", *second_backend], monkeypatch, capsys)
    assert second.code == 0, second.err
    assert "transcribed" not in second.err  # the cached transcripts
    cfg1 = json.loads((tmp_path / "run1" / "config.json").read_text())
    cfg2 = json.loads((tmp_path / "run2" / "config.json").read_text())
    return cfg1, cfg2, first.out


def _check_provenance(cfg1: dict, cfg2: dict, checkpoint: str) -> None:
    t1, t2 = cfg1["transcripts"], cfg2["transcripts"]
    assert t1["checkpoint"]["name"] == checkpoint and len(t1["checkpoint"]["sha256"]) == 64
    assert t2["checkpoint"] == t1["checkpoint"]
    for item_id, p in t1["items"].items():
        assert p["cached"] is False and t2["items"][item_id]["cached"] is True
        assert t2["items"][item_id]["transcript_sha256"] == p["transcript_sha256"]
        assert Path(p["transcript"]).is_file()
    assert cfg1["scenario_sha256"] == cfg2["scenario_sha256"]


@pytest.mark.slow
def test_synthetic_skeleton_recordings_end_to_end(synth_recordings, tmp_path, monkeypatch, capsys):
    """No shared data: two synthetic skeleton recordings (mgreason synth), labelled, tiny-synth checkpoint."""
    path = _write_scenario(tmp_path, synth_recordings[:2], "tiny-synth", labelled=True)
    cfg1, cfg2, out = _run_twice(path, tmp_path, monkeypatch, capsys, ["--backend", "mock"])
    _check_provenance(cfg1, cfg2, "tiny-synth")
    assert cfg1["model"]["id"] == "smollm2-135m-instruct" and cfg1["labelled"] is True
    assert "| with_mg |" in out and "Wilson" in out  # labelled: accuracy


@pytest.mark.slow
def test_real_openpose_recording_end_to_end(tmp_path, monkeypatch, capsys):
    """The shared 30-s OpenPose sample (iMiGUE video 298, one subject), unlabelled, the bundled checkpoint."""
    if not SHARED_OPENPOSE.is_dir():
        pytest.skip("the 30-s OpenPose sample is not at ../shared/data/imigue/openpose_298_first30s")
    path = _write_scenario(tmp_path, [SHARED_OPENPOSE], "tiny-real298", labelled=False)
    cfg1, cfg2, out = _run_twice(path, tmp_path, monkeypatch, capsys, [])
    _check_provenance(cfg1, cfg2, "tiny-real298")
    assert cfg1["labelled"] is False and cfg1["model"]["id"] == "smollm2-135m-instruct"
    assert "Answers per condition" in out and "Wilson" not in out
    samples = [json.loads(line) for line in (tmp_path / "run1" / "samples.jsonl").read_text().splitlines()]
    with_mg = next(s for s in samples if s["condition"] == "with_mg")
    assert "Micro-gestures of the person" in with_mg["messages"][-1]["content"]
    assert all(s["label_logprobs"] and s["gold"] is None for s in samples)


def test_a_sweep_transcribes_recording_items_and_reports_unlabelled_runs(synth_recordings, tmp_path, monkeypatch, capsys):
    path = _write_scenario(tmp_path, synth_recordings[:2], "tiny-synth", labelled=False)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"id": "rec-sweep", "models": [{"name": "mock", "backend": "mock", "model": "mock"}],
                                     "scenarios": [path.name]}), encoding="utf-8")  # fmt: skip
    res = run_cli(["sweep", sweep, "--out", tmp_path / "out"], monkeypatch, capsys)
    assert res.code == 0, res.err
    cfg = json.loads(next((tmp_path / "out" / "models").glob("*/*/config.json")).read_text())
    assert cfg["transcripts"]["checkpoint"]["name"] == "tiny-synth" and set(cfg["transcripts"]["items"]) == {"rec0", "rec1"}
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (group,) = report["groups"]
    assert group["unlabelled"]["comparisons"] and group["conditions"] == []
    per_item = (tmp_path / "out" / "report.md").read_text().split("### recordings_e2e")[1]
    assert " ✗" not in per_item and " ✓" not in per_item  # nothing to be right or wrong about
