from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
IMIGUE_DATA = REPO.parent / "shared" / "data" / "imigue"


@pytest.fixture(scope="session")
def imigue_data() -> Path:
    """The shared iMiGUE reference data (../shared/data/imigue); skip when absent."""
    if not IMIGUE_DATA.is_dir():
        pytest.skip("../shared/data/imigue is not available")
    return IMIGUE_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
