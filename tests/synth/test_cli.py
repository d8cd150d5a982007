import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mgreason.errors import DataError, MGReasonError
from mgreason.skeleton.io_pyskl import read_pyskl
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.synth.cli import parse_classes, register
from mgreason.transcript import Transcript


@pytest.fixture
def app():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test root"""

    register(app)
    return app


runner = CliRunner()


def test_clips_command_writes_pyskl_with_held_out_subjects(app, tmp_path):
    out = tmp_path / "clips"
    r = runner.invoke(app, ["synth", "clips", "--out", str(out), "--n-per-class", "3", "--seed", "7",
                            "--classes", "4,5,touching ears", "--subjects", "10"])
    assert r.exit_code == 0, r.output
    assert "wrote 9 clips" in r.output
    anns, split = read_pyskl(out / "synth_clips.pkl")
    assert len(anns) == 9 and {a["label"] for a in anns} == {3, 4, 8}
    subj = {k: {a["subject"] for a in anns if a["frame_dir"] in set(v)} for k, v in split.items()}
    assert not (subj["train"] & subj["test"])
    manifest = json.loads((out / "synth_clips.json").read_text())
    assert manifest["seed"] == 7 and manifest["clips"] == 9 and manifest["classes"] == [4, 5, 9]
    # same seed, same file content
    r2 = runner.invoke(app, ["synth", "clips", "--out", str(tmp_path / "again"), "--n-per-class", "3", "--seed", "7",
                             "--classes", "4,5,touching ears", "--subjects", "10"])
    assert r2.exit_code == 0
    anns2, _ = read_pyskl(tmp_path / "again" / "synth_clips.pkl")
    assert all(np.array_equal(a["keypoint"], b["keypoint"]) for a, b in zip(anns, anns2))


def test_session_command(app, tmp_path):
    r = runner.invoke(app, ["synth", "session", "--out", str(tmp_path), "--minutes", "0.5", "--seed", "3",
                            "--count", "2", "--pyskl"])
    assert r.exit_code == 0, r.output
    for seed in (3, 4):
        seq = SkeletonSequence.load(tmp_path / f"synth_session_{seed}.npz")
        tr = Transcript.read(tmp_path / f"synth_session_{seed}.transcript.json")
        assert seq.num_frames == 750 and tr.duration_s == pytest.approx(30.0) and tr.events
    anns, split = read_pyskl(tmp_path / "sessions.pkl")
    assert len(anns) == 2 and all(a["label"] == -1 and a["segments"] for a in anns)
    a, b, lab = anns[0]["segments"][0]
    assert 0 <= a < b <= 750 and 0 <= lab <= 31


def test_classes_command(app):
    r = runner.invoke(app, ["synth", "classes"])
    assert r.exit_code == 0
    assert "touching or scratching head" in r.output and "illustrative hand gestures" in r.output


@pytest.mark.parametrize(
    "args",
    [
        ["synth", "session", "--minutes", "-1"],
        ["synth", "session", "--count", "0"],
        ["synth", "clips", "--n-per-class", "0"],
        ["synth", "clips", "--classes", "29"],
        ["synth", "clips", "--classes", "juggling"],
        ["synth", "clips", "--seed", "-3"],
    ],
)
def test_user_errors_raise_data_error(app, tmp_path, args):
    r = runner.invoke(app, args + ["--out", str(tmp_path / "o")])
    assert isinstance(r.exception, DataError), r.output


def test_out_must_be_a_directory(app, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(app, ["synth", "session", "--out", str(f), "--minutes", "0.2"])
    # checked when the command line is parsed (mgreason.fileio.output_option), before any generation
    assert isinstance(r.exception, MGReasonError) and "--out" in str(r.exception)
    assert "exists and is not a directory" in str(r.exception)


def test_parse_classes():
    assert parse_classes(None) is None and parse_classes(" ") is None
    assert parse_classes("4, 5,rubbing eyes") == [4, 5, "rubbing eyes"]
