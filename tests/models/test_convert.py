"""Where conversions live and how they are recognised (issue 27: stored in the dtype they run in), and the
cheap re-check of the weights' identity (issue 30 item 1), on small files (no model is loaded)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mgreason.errors import BackendError
from mgreason.models.convert import CONVERSION_MARKER, converted_dir, is_complete, loaded_weights, weights_record
from mgreason.models.dtype import pick_dtype, stored_dtype


def test_each_dtype_has_its_own_directory_and_float16_loads_the_float32_one(tmp_path):
    sha = "ab" * 32
    assert converted_dir(tmp_path, "m", sha, "float32").name == "m-abababababab"  # the name older versions used
    assert converted_dir(tmp_path, "m", sha, "bfloat16").name == "m-abababababab-bfloat16"
    assert converted_dir(tmp_path, "m", sha, "float16") == converted_dir(tmp_path, "m", sha, "float32")
    assert [stored_dtype(d) for d in ("bfloat16", "float32", "float16")] == ["bfloat16", "float32", "float32"]
    assert pick_dtype("BF16")[0] == "bfloat16" and pick_dtype("fp32") == ("float32", "requested: fp32")
    with pytest.raises(BackendError, match="unknown dtype 'int3'"):
        pick_dtype("int3")


def _conversion(d: Path, dtype: str = "bfloat16", record: bool = True) -> Path:
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"w" * 100)
    marker = {"source_sha256": "ab" * 32, "dtype": dtype}
    if record:
        marker["weights"] = weights_record(d)
        marker["weights_sha256"] = marker["weights"]["model.safetensors"]["sha256"]
    (d / CONVERSION_MARKER).write_text(json.dumps(marker))
    return d


def test_a_conversion_is_complete_only_for_its_source_and_dtype(tmp_path):
    d = _conversion(tmp_path / "c")
    assert is_complete(d) and is_complete(d, "ab" * 32, "bfloat16")
    assert not is_complete(d, "cd" * 32, "bfloat16") and not is_complete(d, "ab" * 32, "float32")
    legacy = _conversion(tmp_path / "old", dtype="float32", record=False)
    assert is_complete(legacy, "ab" * 32, "float32") and is_complete(legacy, "ab" * 32, "float16")


def test_the_identity_is_rechecked_by_size_and_mtime_and_hashed_when_they_differ(tmp_path, monkeypatch):
    monkeypatch.setenv("MGREASON_CACHE_DIR", str(tmp_path / "cache"))
    d = _conversion(tmp_path / "c")
    w = d / "model.safetensors"
    recorded = json.loads((d / CONVERSION_MARKER).read_text())["weights_sha256"]
    assert loaded_weights(d).sha256 == recorded and loaded_weights(d).ok

    calls = []
    import mgreason.models.hashing as hashing

    real = hashing.sha256_of
    monkeypatch.setattr(hashing, "sha256_of", lambda p: calls.append(p) or real(p))
    assert loaded_weights(d).sha256 == recorded and calls == []  # size and mtime unchanged: not read

    st = w.stat()
    w.write_bytes(b"x" * 100)  # same size, new bytes, new mtime: read and found different
    got = loaded_weights(d)
    assert calls and got.sha256 != recorded and not got.ok and got.changed == ("model.safetensors",)

    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back: only a full hash sees it
    assert loaded_weights(d).sha256 == recorded
    full = loaded_weights(d, full=True)
    assert full.sha256 != recorded and not full.ok

    w.write_bytes(b"w" * 100)  # restored bytes, new mtime: hashed again, the recorded identity
    assert loaded_weights(d).sha256 == recorded and loaded_weights(d, full=True).ok

    legacy = _conversion(tmp_path / "old", dtype="float32", record=False)  # made before records: its digest
    assert loaded_weights(legacy).recorded is None and loaded_weights(legacy).ok


def test_run_estimate_is_weights_plus_runtime():
    from mgreason.models.catalog import RUNTIME_BYTES, get

    m = get("qwen2.5-coder-1.5b-instruct")
    assert m.run_bytes("bfloat16") == m.hf_bytes("bfloat16") + RUNTIME_BYTES
    assert m.run_bytes("float32") == m.hf_bytes("float32") + RUNTIME_BYTES
    assert m.convert_bytes("bfloat16") < m.convert_bytes("float32")
