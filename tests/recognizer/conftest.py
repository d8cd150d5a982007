"""Shared fixtures: small, seeded generator clips (prepared as in training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgreason.recognizer.augment import Clip
from mgreason.recognizer.preprocessing import prepare_sequence

LAYOUT = "imigue22"


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these tensors are small, and on a shared (oversubscribed) CPU spinning
    OpenMP threads make multi-threaded runs many times slower. Restored after each test."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _clips(classes, n, seed, noise):
    from mgreason.synth import GeneratorConfig, generate_clips

    cs = generate_clips(n, classes=classes, seed=seed, n_subjects=6, config=GeneratorConfig(noise=noise))
    out = []
    for i in range(len(cs)):
        s = prepare_sequence(cs[i], LAYOUT, 25.0)
        out.append(Clip(s.coords, s.confidence, int(cs.labels[i]), {"raw": int(cs.raw_ids[i]), "name": cs.names[i]}))
    return out


@pytest.fixture(scope="session")
def contact_clips() -> list[Clip]:
    """Hand-to-head / hand-to-neck gestures with perfect tracking (clean geometry for the checks)."""
    # 5 forehead, 7 rubbing eyes, 11 jaw, 12 neck
    return _clips([5, 7, 11, 12], 4, seed=11, noise=0.0)


@pytest.fixture(scope="session")
def noisy_clips() -> list[Clip]:
    """A few clips of several classes with the default tracker noise."""
    return _clips([7, 17, 23, 31], 3, seed=12, noise=1.0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
