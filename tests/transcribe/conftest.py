"""Shared fixtures: a small random-weight recognizer (plumbing tests need no trained model) and a
checkpoint directory (the bundled tiny-synth when it is installed, else that random one saved)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_OPENPOSE = REPO.parent / "shared" / "data" / "imigue" / "openpose_298_first30s"


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on a shared, oversubscribed CPU spinning OpenMP threads are many times slower."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _labels() -> list[str]:
    from mgreason.synth import supported_raw_ids
    from mgreason.taxonomy import IMIGUE

    return [IMIGUE.by_raw_id(r).name for r in supported_raw_ids()] + ["background"]


def make_recognizer(base_channels: int = 8, seed: int = 0):
    """A random-weight tiny recognizer (stride 4, like the bundled preset) on imigue22 at 25 fps."""
    import torch

    from mgreason.recognizer.config import ModelConfig
    from mgreason.recognizer.inference import Recognizer
    from mgreason.recognizer.model import arch_from_config, build_model

    labels = _labels()
    torch.manual_seed(seed)
    arch = arch_from_config(ModelConfig(size="tiny", base_channels=base_channels), "imigue22", len(labels), 2)
    model = build_model(arch).eval()
    # non-trivial batch-norm statistics, so eval mode is not an identity
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(1.0 + torch.rand(m.running_var.shape, generator=g))
    config = {
        "labels": labels,
        "layout": "imigue22",
        "preprocessing": {
            "fps": 25.0, "clip_len": 48, "layout": "imigue22", "streams": ["joint", "bone", "motion"],
            "use_confidence": True, "coord_channels": 2, "min_confidence": 0.0,
        },
    }  # fmt: skip
    return Recognizer(model, config)


@pytest.fixture(scope="session")
def tiny_rec():
    return make_recognizer()


def bundled_checkpoint() -> Path | None:
    p = REPO / "mgreason" / "recognizer" / "checkpoints" / "tiny-synth"
    return p if (p / "config.json").is_file() and (p / "model.safetensors").is_file() else None


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    """The bundled checkpoint when installed, else a random-weight tiny one written to a temp dir."""
    p = bundled_checkpoint()
    if p is not None:
        return p
    from mgreason.recognizer.checkpoint import save_checkpoint

    rec = make_recognizer()
    out = tmp_path_factory.mktemp("ckpt") / "random-tiny"
    save_checkpoint(out, rec.model, rec.labels, rec.config["preprocessing"])
    return out


@pytest.fixture(scope="session")
def short_session():
    """A 40-s synthetic session (sequence + ground-truth transcript)."""
    from mgreason.synth import generate_session

    return generate_session(40 / 60, seed=3, rate_per_min=10)
