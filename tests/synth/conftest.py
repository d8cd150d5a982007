from __future__ import annotations

import pytest

from mgreason.synth import generate_clips


@pytest.fixture(scope="session")
def clips():
    """A small clip set shared by the synth tests (all supported classes)."""
    return generate_clips(6, seed=11, n_subjects=12)
