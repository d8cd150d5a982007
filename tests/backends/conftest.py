"""Fixtures for backend tests: the real embedded model, loaded once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def hf_backend():
    """The hf backend on the embedded SmolLM2-135M-Instruct (converted to the cache dir on first use)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mgreason.backends.hf import HFBackend

    backend = HFBackend(dtype="float32")  # equivalence tests compare float32 log-probs; the auto policy is tested apart
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def count_forwards(hf_backend):
    """Context manager factory counting model forwards and their input tokens."""
    import contextlib

    @contextlib.contextmanager
    def counting():
        stats = {"calls": 0, "tokens": 0, "shapes": []}

        def hook(module, args, kwargs):
            x = kwargs.get("input_ids")
            if x is None and args:
                x = args[0]
            stats["calls"] += 1
            stats["tokens"] += int(x.numel())
            stats["shapes"].append(tuple(x.shape))

        handle = hf_backend.model.register_forward_pre_hook(hook, with_kwargs=True)
        try:
            yield stats
        finally:
            handle.remove()

    return counting
