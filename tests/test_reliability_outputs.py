"""Output paths are checked before any work (issue 15): an output that is an existing file where a
directory is needed (or the reverse), under a parent that is a file, or in a directory that cannot
be written is one error line naming the path and the option, exit 2 — for every command that writes."""

from __future__ import annotations

import inspect

import pytest
import typer

from helpers import run_cli
from mgreason import cli

# every command that writes files, with the least arguments that reach the option check
COMMANDS = {
    "transcribe": (["transcribe", "in.npz"], {"--out": False, "--out-dir": True, "--scores": False, "--text": False}),
    "eval-transcripts": (["eval-transcripts", "p.json", "g.json"], {"--json": False}),
    "tune-segmentation": (["tune-segmentation", "s.npz", "g.json"], {"--json": False}),
    "train": (["train", "cfg.yaml"], {"--out": True}),
    "synth clips": (["synth", "clips"], {"--out": True}),
    "synth session": (["synth", "session"], {"--out": True}),
    "generate-items": (["generate-items", "deception", "--n", "3"], {"--out": False, "--report": False}),
    "imigue build-items": (["imigue", "build-items", "--labels", "l.csv", "--splits", "s.json"], {"--out": True}),
    "imigue export-transcripts": (["imigue", "export-transcripts", "--labels", "l.csv"], {"--out": True}),
    "datasets build-items": (["datasets", "build-items", "dolos", "--root", "r"], {"--out": True}),
    "new-scenario": (["new-scenario", "x"], {"--dir": True}),
    "plot": (["plot", "t.json"], {"--out": False}),
    "show-clip": (["show-clip", "in.npz", "--at", "1"], {"--out": False}),
    "view": (["view", "run_dir"], {"--out": False}),
    "adapt": (["adapt", "s.yaml", "--train", "t.jsonl", "--condition", "with_mg"], {"--out": True}),
}
CASES = [(name, opt, is_dir) for name, (_, opts) in COMMANDS.items() for opt, is_dir in opts.items()]


@pytest.mark.parametrize("name,option,is_dir", CASES, ids=[f"{n} {o}" for n, o, _ in CASES])
def test_bad_output_paths_are_one_line_exit_2_before_any_work(tmp_path, monkeypatch, capsys, name, option, is_dir):
    monkeypatch.chdir(tmp_path)
    args = COMMANDS[name][0]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    (tmp_path / "a_dir").mkdir()
    bad = [(a_file / "sub" / ("out" if is_dir else "out.json"), "is a file, not a directory")]
    bad.append((a_file, "exists and is not a directory") if is_dir else (tmp_path / "a_dir", "is a directory"))
    for path, why in bad:
        code, out, err = run_cli([*args, option, str(path)], monkeypatch, capsys)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2 and len(lines) == 1, err
        assert str(path) in lines[0] and option in lines[0] and why in lines[0], err
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir", "a_file"]  # nothing was written


def test_every_command_with_an_out_option_is_checked():
    """A new command with an --out option must declare it with mgreason.fileio.output_option and be listed
    here; every option listed here is declared so."""
    engine = {"run-scenario", "sweep", "report", "analyze"}  # the evaluation engine checks its run directories itself
    seen = set()

    def walk(app: typer.Typer, prefix: str = "") -> None:
        for ci in app.registered_commands:
            name = prefix + (ci.name or ci.callback.__name__.replace("_", "-"))
            for p in inspect.signature(ci.callback).parameters.values():
                info = p.default
                if not isinstance(info, typer.models.OptionInfo):
                    continue
                decl = next((d for d in info.param_decls if d.startswith("--")), "")
                if hasattr(info.callback, "output_directory"):  # made by mgreason.fileio.output_option
                    seen.add(f"{name} {decl}")
                elif decl == "--out" and name not in engine:
                    pytest.fail(f"{name} --out is not checked before the command runs (declare it with mgreason.fileio.output_option)")
        for gi in app.registered_groups:
            walk(gi.typer_instance, prefix + (gi.name or gi.typer_instance.info.name) + " ")

    walk(cli.app)
    assert seen == {f"{n} {o}" for n, o, _ in CASES}


def test_train_refuses_an_earlier_run_unless_force(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("name: t\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("{}\n")
    code, out, err = run_cli(["train", cfg, "--out", run, "--data", tmp_path / "missing"], monkeypatch, capsys)
    assert code == 2 and "earlier run" in err and "--force" in err and str(run) in err, err
    # with --force the run directory is accepted: the command goes on to the data (missing here)
    code, out, err = run_cli(["train", cfg, "--out", run, "--data", tmp_path / "missing", "--force"], monkeypatch, capsys)
    assert code == 2 and "earlier run" not in err and "missing" in err, err
    assert (run / "metrics.jsonl").read_text() == "{}\n"
