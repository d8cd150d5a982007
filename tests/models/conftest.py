"""Fixtures for the model catalogue tests: tiny "part" packages written into a temporary directory on
sys.path (the same layout as the real chunk wheels: ``<module>/data/partNN.bin``), a catalogue
monkeypatched to describe them, and a private cache directory."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import pytest

from mgreason.models.catalog import CatalogModel, Part

# Each fake package's __init__ raises: the installer must locate the data without importing it.
_POISON = 'raise RuntimeError("mgreason must locate part packages with find_spec, never import them")\n'


class FakeParts:
    def __init__(self, root: Path, name: str, chunks: list[bytes], sha256: str | None = None, n_params: int = 1000):
        self.root = root
        self.chunks = chunks
        self.modules = [f"mgr_test_{name.replace('-', '_')}_part{i}" for i in range(1, len(chunks) + 1)]
        data = b"".join(chunks)
        self.model = CatalogModel(
            name=name,
            title=f"Test {name}",
            params="1K",
            quant="Q4_K_M",
            gguf_name=f"{name}.gguf",
            size=len(data),
            sha256=sha256 or hashlib.sha256(data).hexdigest(),
            parts=tuple(
                Part(
                    dist=f"mgr-test-{name}-part{i}",
                    version="0.1.0",
                    module=m,
                    file=f"data/part{i:02d}.bin",
                    size=len(c),
                )
                for i, (m, c) in enumerate(zip(self.modules, chunks), start=1)
            ),
            licence="test data",
            provenance="written by the test fixture",
            n_params=n_params,
        )

    def write(self, index: int) -> Path:
        """Install part ``index`` (1-based) into the fixture's site directory."""
        mod = self.modules[index - 1]
        d = self.root / mod / "data"
        d.mkdir(parents=True, exist_ok=True)
        (self.root / mod / "__init__.py").write_text(_POISON, encoding="utf-8")
        f = d / f"part{index:02d}.bin"
        f.write_bytes(self.chunks[index - 1])
        importlib.invalidate_caches()
        return f

    def write_all(self) -> "FakeParts":
        for i in range(1, len(self.chunks) + 1):
            self.write(i)
        return self

    def path(self, index: int) -> Path:
        return self.root / self.modules[index - 1] / "data" / f"part{index:02d}.bin"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("MGREASON_CACHE_DIR", str(d))
    return d


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "site"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    return d


@pytest.fixture
def fake_model(site, cache, monkeypatch):
    """Factory: ``fake_model(name, chunks, sha256=None, install=True)`` -> FakeParts, registered in the catalogue
    (the real entries stay, so 'unknown name' errors still list them)."""
    import mgreason.models.catalog as catalog

    def make(name: str = "tiny-test-model", chunks=None, sha256=None, install=True, n_params=1000) -> FakeParts:
        chunks = chunks if chunks is not None else [bytes([i]) * (1000 + 37 * i) for i in range(1, 4)]
        fp = FakeParts(site, name, chunks, sha256=sha256, n_params=n_params)
        monkeypatch.setattr(catalog, "CATALOG", tuple(catalog.CATALOG) + (fp.model,))
        if install:
            fp.write_all()
        return fp

    yield make
    for mod in list(sys.modules):
        if mod.startswith("mgr_test_"):  # pragma: no cover - only if a package was (wrongly) imported
            del sys.modules[mod]

