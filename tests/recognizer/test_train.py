"""Training on generator data, checkpoints, and the real-data paths (PYSKL pickle, ST-GCN arrays)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from mgreason.errors import DataError, MGReasonError
from mgreason.recognizer.checkpoint import load_checkpoint, save_checkpoint
from mgreason.recognizer.config import TrainConfig, load_config
from mgreason.recognizer.data import IMIGUE_XSUB, ClipDataset, load_data
from mgreason.recognizer.inference import Recognizer
from mgreason.recognizer.model import arch_from_config, build_model
from mgreason.recognizer.train import train

MICRO_MODEL = {"base_channels": 8, "num_blocks": 2, "inflate_blocks": [2], "down_blocks": [2]}


def _cfg(tmp_path, **over) -> TrainConfig:
    d = {
        "name": "t",
        "out_dir": str(tmp_path / "run"),
        "data": {"clip_len": 16, "synth": {"subjects": 5, "test_subjects": 1, "val_subjects": 1, "clips_per_class": 6,
                                           "classes": [7, 17, 23, 31], "background_clips": 6}},
        "model": dict(MICRO_MODEL),
        "optim": {"epochs": 2, "batch_size": 8, "lr": 0.01, "warmup_epochs": 0},
    }  # fmt: skip
    for k, v in over.items():
        cur = d
        parts = k.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    return TrainConfig.model_validate(d)


@pytest.fixture(scope="module")
def synth_bundle(tmp_path_factory):
    cfg = _cfg(tmp_path_factory.mktemp("b"))
    return load_data(cfg)


def test_synth_data_split_by_subject(synth_bundle):
    b = synth_bundle
    assert b.labels[-1] == "background" and len(b.labels) == 5
    subj = {name: {c.meta["subject"] for c in getattr(b, name)} for name in ("train", "val", "test")}
    assert subj["train"] and subj["val"] and subj["test"]
    assert not (subj["train"] & subj["test"]) and not (subj["train"] & subj["val"]) and not (subj["val"] & subj["test"])
    assert {c.label for c in b.train} == set(range(5))  # background clips are there too
    assert b.description["test_subjects"] == sorted(subj["test"])


def test_a_few_steps_decrease_the_loss(synth_bundle):
    torch.manual_seed(0)
    b = synth_bundle
    mc = _cfg(__import__("pathlib").Path(".")).model
    model = build_model(arch_from_config(mc, "imigue22", len(b.labels), 2))
    ds = ClipDataset(b.train[:24], "imigue22", 16, mc.streams, True)
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    y = torch.tensor([ds[i][1] for i in range(len(ds))])
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    losses = []
    for _ in range(12):
        out = model.train()(x)
        loss = sum(model.losses(out, y).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses


def test_train_end_to_end_and_checkpoint_roundtrip(tmp_path, synth_bundle):
    cfg = _cfg(tmp_path, **{"augment.flip.p": 0.5, "augment.speed.p": 0.5, "augment.rotate.p": 0.5})
    res = train(cfg, data=synth_bundle, progress=False)
    out = tmp_path / "run"
    assert (out / "best" / "model.safetensors").is_file() and (out / "best" / "config.json").is_file()
    assert (out / "last" / "model.safetensors").is_file()
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["split"] == "val"
    for key in ("top1", "top5", "per_class", "confusion", "gate_per_class", "train_loss", "samples_per_s"):
        assert key in lines[0]
    assert len(lines[0]["confusion"]) == 5
    assert 0.0 <= res.test_top1 <= res.test_top5 <= 1.0
    test = json.loads((out / "test_metrics.json").read_text())
    assert test["n"] == len(synth_bundle.test)

    cfgj = json.loads((out / "best" / "config.json").read_text())
    assert cfgj["labels"] == synth_bundle.labels and cfgj["layout"] == "imigue22"
    assert cfgj["preprocessing"]["clip_len"] == 16 and cfgj["preprocessing"]["streams"] == ["joint", "bone", "motion"]
    assert cfgj["training"]["data"]["source"] == "synth" and "test" in cfgj["training"]

    # save -> load gives identical logits (CPU inference)
    model, _ = load_checkpoint(out / "best")
    rec = Recognizer.load(out / "best")
    ds = ClipDataset(synth_bundle.test[:6], "imigue22", 16, ["joint", "bone", "motion"], True)
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    with torch.no_grad():
        a = model(x).logits
        save_checkpoint(tmp_path / "again", model, synth_bundle.labels, cfgj["preprocessing"])
        b = load_checkpoint(tmp_path / "again")[0](x).logits
        c = rec.model(x).logits
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, c, rtol=0, atol=0)


def test_training_is_seeded(tmp_path, synth_bundle):
    over = {"optim.max_steps": 2, "optim.epochs": 1, "augment.jitter.p": 1.0, "augment.speed.p": 0.5}
    r1 = train(_cfg(tmp_path / "a", **over), data=synth_bundle, progress=False, save=False)
    r2 = train(_cfg(tmp_path / "b", **over), data=synth_bundle, progress=False, save=False)
    assert r1.history[0]["train_loss"] == r2.history[0]["train_loss"]


def _write_imigue_like_pickle(tmp_path):
    """Generator clips written as a real iMiGUE PYSKL pickle would be: frame_dir = '<video>_<k>', no subject
    key, no split, plus a labels CSV mapping each video to an iMiGUE subject id."""
    from mgreason.skeleton.io_pyskl import write_pyskl
    from mgreason.synth import generate_clips

    cs = generate_clips(3, classes=[5, 17, 31], seed=3, n_subjects=4)
    subj_of_video = {101: IMIGUE_XSUB["train"][0], 102: IMIGUE_XSUB["train"][1], 201: IMIGUE_XSUB["test"][0]}
    videos = list(subj_of_video)
    anns = []
    for i, a in enumerate(cs.annotations()):
        a = dict(a)
        for k in ("subject", "layout", "fps", "raw_label"):
            a.pop(k, None)
        a["frame_dir"] = f"{videos[i % 3]}_{i}"
        anns.append(a)
    pkl = write_pyskl(tmp_path / "imigue_like.pkl", anns, split={})
    csv_path = tmp_path / "labels.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "label_id", "start_time", "start_frame", "end_time", "end_frame", "class", "subject_id",
                    "subject_gender", "subject_nationality", "win_or_lose"])  # fmt: skip
        for v, s in subj_of_video.items():
            w.writerow([v, 1, 0.0, 0, 1.0, 25, 17, s, "F", "X", "Win"])
    return pkl, csv_path, subj_of_video


def test_pyskl_real_data_path_uses_the_cross_subject_split(tmp_path):
    pkl, csv_path, subj = _write_imigue_like_pickle(tmp_path)
    cfg = _cfg(
        tmp_path,
        **{"data.source": "pyskl", "data.path": str(pkl), "data.labels_csv": str(csv_path), "data.split": "auto",
           "optim.max_steps": 1, "optim.epochs": 1},
    )  # fmt: skip
    b = load_data(cfg)
    assert b.description["split"] == "imigue_xsub"
    assert len(b.labels) == 32 and b.labels[16] == "folding arms"  # iMiGUE label space
    assert {c.meta["subject"] for c in b.test} == {subj[201]}
    assert {c.meta["subject"] for c in b.train} == {subj[101], subj[102]}
    res = train(cfg, data=b, progress=False)
    assert res.history and np.isfinite(res.history[0]["train_loss"])
    rec = Recognizer.load(tmp_path / "run" / "best")
    assert rec.num_classes == 32 and rec.model.in_channels == 9


def test_pyskl_file_split_and_missing_subjects(tmp_path):
    from mgreason.synth import generate_clips

    cs = generate_clips(2, classes=[7, 23], seed=4, n_subjects=5)
    pkl = cs.write_pyskl(tmp_path / "synth.pkl")
    b = load_data(_cfg(tmp_path, **{"data.source": "pyskl", "data.path": str(pkl)}))
    assert b.description["split"].startswith("file:train/test")
    from mgreason.skeleton.io_pyskl import write_pyskl

    anns = cs.annotations()
    for a in anns:
        a["subject"] = 100 + a["subject"]  # not iMiGUE subjects
    odd = write_pyskl(tmp_path / "odd.pkl", anns, split={})
    with pytest.raises(MGReasonError, match="cross-subject"):
        load_data(_cfg(tmp_path, **{"data.source": "pyskl", "data.path": str(odd), "data.split": "imigue_xsub"}))
    for a in anns:
        del a["subject"]
    nosub = write_pyskl(tmp_path / "nosub.pkl", anns, split={})
    with pytest.raises(MGReasonError, match="no subject"):
        load_data(_cfg(tmp_path, **{"data.source": "pyskl", "data.path": str(nosub), "data.split": "imigue_xsub"}))
    b = load_data(_cfg(tmp_path, **{"data.source": "pyskl", "data.path": str(nosub)}))  # auto: falls back to random
    assert b.description["split"] == "random-clip"
    with pytest.raises(DataError):
        load_data(_cfg(tmp_path, **{"data.source": "pyskl", "data.path": str(tmp_path / "nope.pkl")}))


def test_stgcn_arrays_shape_only(tmp_path):
    from mgreason.skeleton.io_stgcn import write_stgcn
    from mgreason.synth import generate_clips

    cs = generate_clips(2, classes=[7, 17], seed=5, n_subjects=4)
    seqs = list(cs.sequences())
    write_stgcn(tmp_path / "train_data.npy", tmp_path / "train_label.pkl", seqs[:3], cs.labels[:3].tolist(), max_frame=90)
    write_stgcn(tmp_path / "test_data.npy", tmp_path / "test_label.pkl", seqs[3:], cs.labels[3:].tolist(), max_frame=90)
    cfg = _cfg(tmp_path, **{"data.source": "stgcn", "data.path": str(tmp_path), "optim.max_steps": 1, "optim.epochs": 1})
    b = load_data(cfg)
    assert len(b.train) == 3 and len(b.test) == 1 and b.coord_channels == 2
    res = train(cfg, data=b, progress=False, save=False)
    assert res.history


def test_config_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  sise: tiny\n")
    with pytest.raises(MGReasonError, match=r"bad.yaml: model.sise: unknown field"):
        load_config(bad)
    bad.write_text("data:\n  synth: {subjects: 3, test_subjects: 3}\n")
    with pytest.raises(MGReasonError, match="data.synth"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("optim: {epochs: 3}\n")
    assert load_config(good, {"optim.lr": 0.5}).optim.lr == 0.5


def test_cli_bad_config_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  streams: [joint, elbows]\n")
    p = subprocess.run([sys.executable, "-m", "mgreason.cli", "train", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    lines = [s for s in p.stderr.splitlines() if s.strip()]
    assert len(lines) == 1 and "model.streams" in lines[0]
