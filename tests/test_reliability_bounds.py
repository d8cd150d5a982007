"""Issue 30, items 6 and 11: numeric options and the parameters a checkpoint carries have upper
bounds (one line, exit 2, before any work), a checkpoint with NaN weights is refused instead of
giving "0 micro-gestures", and a degraded condition cannot inject labels outside the taxonomy."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from helpers import assert_one_line_error, make_items, run_cli, write_scenario


@pytest.mark.parametrize(
    "args,needle",
    [
        (["synth", "session", "--minutes", "1e9"], "minutes"),
        (["synth", "session", "--minutes", "nan"], "minutes"),
        (["synth", "session", "--minutes", "500", "--fps", "200"], "frames"),
        (["synth", "session", "--fps", "1e9"], "fps"),
        (["synth", "session", "--fps", "nan"], "fps"),
        (["synth", "session", "--rate", "1e12"], "rate_per_min"),
        (["synth", "session", "--count", "1000000000"], "count"),
        (["synth", "session", "--noise", "1e9"], "noise"),
        (["synth", "clips", "--fps", "1e9"], "fps"),
        (["synth", "clips", "--n-per-class", "1000000000"], "n_per_class"),
        (["synth", "clips", "--subjects", "1000000000"], "n_subjects"),
    ],
)
def test_synth_options_are_bounded(tmp_path, monkeypatch, capsys, args, needle):
    t0 = time.monotonic()
    res = run_cli([*args, "--out", tmp_path / "out"], monkeypatch, capsys)
    assert_one_line_error(res, needle)
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize(
    "opt,value",
    [("--smooth", "1e5"), ("--smooth", "1e12"), ("--min-duration", "1e9"), ("--merge-gap", "1e300"),
     ("--min-label-run", "inf"), ("--chunk", "1e9"), ("--min-gap", "1e300"), ("--fps", "1e9")],
)
def test_transcribe_options_are_bounded(tmp_path, monkeypatch, capsys, opt, value):
    import numpy as np

    arr = tmp_path / "x.npy"
    np.save(arr, np.zeros((10, 22, 2), dtype=np.float32))
    res = run_cli(["transcribe", arr, "--layout", "imigue22", opt, value, "--out", tmp_path / "t.json"], monkeypatch, capsys)
    assert_one_line_error(res)
    assert not (tmp_path / "t.json").exists()


def _checkpoint_copy(tmp_path):
    from mgreason.recognizer.inference import bundled_checkpoint_path

    src = bundled_checkpoint_path()
    dst = tmp_path / "ckpt"
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    "params,field",
    [({"smooth_s": -1e308}, "smooth_s"), ({"smooth_s": 1e12}, "smooth_s"), ({"min_duration_s": 1e308}, "min_duration_s"),
     ({"split_regions": -1e308}, "split_regions"), ({"high": "0.5"}, "high"), ({"low": True}, "low")],
)
def test_checkpoint_segmentation_parameters_obey_the_options_bounds(tmp_path, params, field):
    from mgreason.errors import DataError
    from mgreason.transcribe.tuning import checkpoint_segmentation

    cfg_path = tmp_path / "config.json"
    with pytest.raises(DataError) as e:
        checkpoint_segmentation({"segmentation": {"params": params}}, cfg_path)
    assert str(e.value).startswith(f"{cfg_path}: segmentation.params.{field}: "), str(e.value)


@pytest.mark.parametrize("poison", [float("nan"), float("inf"), float("-inf")])
def test_checkpoint_with_non_finite_weights_is_refused(tmp_path, monkeypatch, capsys, poison):
    import numpy as np
    from safetensors.numpy import load_file, save_file

    ck = _checkpoint_copy(tmp_path)
    w = load_file(str(ck / "model.safetensors"))
    name = sorted(k for k, v in w.items() if v.dtype.kind == "f")[len(w) // 2]
    w[name] = w[name].copy()
    w[name].flat[0] = poison
    save_file(w, str(ck / "model.safetensors"))
    arr = tmp_path / "x.npy"
    np.save(arr, np.zeros((50, 22, 2), dtype=np.float32))
    res = run_cli(["transcribe", arr, "--layout", "imigue22", "--checkpoint", ck, "--out", tmp_path / "t.json"], monkeypatch, capsys)
    assert_one_line_error(res, "model.safetensors", "NaN or infinite", name)


@pytest.mark.parametrize("policy,refused", [("strict", True), ("warn", False), ("any", False)])
def test_degrade_confusion_cannot_inject_labels_outside_the_taxonomy(tmp_path, policy, refused):
    import warnings

    from mgreason.errors import ScenarioError
    from mgreason.scenario import load_scenario

    cond = {
        "name": "deg", "evidence": "timeline", "transcript": "degraded",
        "degrade": {"confusion_rate": 1.0, "confusion_matrix": {"folding arms": {"waving a flag": 1.0}}},
    }
    path = write_scenario(tmp_path, spec={"conditions": ["without_mg", cond], "transcripts": {"labels": policy}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if refused:
            with pytest.raises(ScenarioError, match=r"conditions\.1\.degrade\.confusion_matrix: .*waving a flag"):
                load_scenario(path)
        else:
            load_scenario(path)
    assert any("waving a flag" in str(w.message) for w in caught) == (policy == "warn")


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_checkpoint_config_is_one_line(tmp_path, monkeypatch, capsys, depth):
    import numpy as np

    ck = _checkpoint_copy(tmp_path)
    (ck / "config.json").write_text('{"format": ' + "[" * depth + "]" * depth + "}")
    arr = tmp_path / "x.npy"
    np.save(arr, np.zeros((50, 22, 2), dtype=np.float32))
    res = run_cli(["transcribe", arr, "--layout", "imigue22", "--checkpoint", ck, "--out", tmp_path / "t.json"], monkeypatch, capsys)
    assert_one_line_error(res, "config.json")
