"""Synthetic skeleton recordings (``mgreason synth`` sessions) for the analyze tests; no shared data needed."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def transcript_cache(tmp_path_factory, monkeypatch) -> Path:
    """A fresh transcript cache per test."""
    p = tmp_path_factory.mktemp("transcripts")
    monkeypatch.setenv("MGREASON_TRANSCRIPT_CACHE", str(p))
    return p


@pytest.fixture(scope="session")
def synth_recordings(tmp_path_factory) -> list[Path]:
    """Three 6-s synthetic skeleton recordings (.npz), each in its own folder with nothing else."""
    from mgreason.synth.generate import generate_session

    root = tmp_path_factory.mktemp("synth")
    out = []
    for k in range(3):
        d = root / "recs"
        d.mkdir(exist_ok=True)
        s = generate_session(0.1, seed=k, rate_per_min=20.0, id=f"session{k}")
        p = d / f"session{k}.npz"
        s.sequence.save(p)
        out.append(p)
    return out
