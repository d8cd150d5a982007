"""Issue 30, item 1: the identity of a model is the digest of the weights that are loaded (the converted
safetensors), recorded when the conversion writes them and re-checked by size and mtime (in full on
`models verify` and whenever size or mtime differ). Rewriting a tensor of a converted copy must be noticed by
`models verify` (whatever the mtime says) and must change the identity under which answers are cached."""

from __future__ import annotations

import json
import os
import shutil
import struct
import warnings
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers import assert_one_line_error, run_cli  # noqa: E402

from mgreason.errors import MGReasonWarning  # noqa: E402


def _tensor_span(path: Path, name: str) -> tuple[int, int]:
    """Byte range of tensor ``name`` in a safetensors file (8-byte header length, JSON header, data)."""
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
    a, b = header[name]["data_offsets"]
    return 8 + n + a, 8 + n + b


def _rewrite(path: Path, span: tuple[int, int], data: bytes) -> None:
    with open(path, "r+b") as fh:  # in place: same size, new mtime
        fh.seek(span[0])
        fh.write(data)


@pytest.fixture
def converted_copy(tmp_path, monkeypatch):
    """The embedded model's float32 conversion copied (with its mtimes) into a private cache."""
    from mgreason.models.convert import CONVERSION_MARKER, read_marker, weights_record
    from mgreason.models.resolve import embedded_hf_dir

    src = embedded_hf_dir("float32")  # in the real cache: converted once, shared with the hf tests
    cache = tmp_path / "cache"
    monkeypatch.setenv("MGREASON_CACHE_DIR", str(cache))
    dst = cache / "models" / src.name
    shutil.copytree(src, dst, copy_function=shutil.copy2)
    marker = read_marker(dst)
    if "weights" not in marker:  # converted before conversions recorded their weights: record them now
        marker["weights"] = weights_record(dst)
        marker["weights_sha256"] = marker["weights"]["model.safetensors"]["sha256"]
        (dst / CONVERSION_MARKER).write_text(json.dumps(marker), encoding="utf-8")
    return dst


@pytest.mark.slow
def test_a_rewritten_tensor_changes_the_identity_and_verify_notices_it(converted_copy, monkeypatch, capsys):
    from mgreason.backends.hf import HFBackend
    from mgreason.eval.cache import model_identity, model_key
    from mgreason.models.convert import read_marker
    from mgreason.models.resolve import loadable

    d = converted_copy
    weights = d / "model.safetensors"
    recorded = read_marker(d)["weights_sha256"]
    good = loadable("embedded", "float32")
    assert good.path == str(d) and good.sha256 == recorded and not good.weights_changed
    be = HFBackend(dtype="float32", threads=1)
    try:
        info_good = be.model_info()
    finally:
        be.close()
    assert info_good.sha256 == recorded  # what is loaded, not the GGUF's sha256
    assert info_good.extra["source_sha256"] == good.source_sha256 != recorded
    assert run_cli(["models", "verify", "embedded"], monkeypatch, capsys).code == 0

    stat = weights.stat()
    span = _tensor_span(weights, "model.norm.weight")
    original = weights.read_bytes()[span[0] : span[1]]
    _rewrite(weights, span, bytes(len(original)))  # one tensor zeroed, same size

    with pytest.warns(MGReasonWarning, match="changed since the conversion wrote them"):
        bad = loadable("embedded", "float32")
    assert bad.sha256 != recorded and bad.weights_changed == ("model.safetensors",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MGReasonWarning)
        be = HFBackend(dtype="float32", threads=1)
    try:
        info_bad = be.model_info()
    finally:
        be.close()
    assert info_bad.sha256 == bad.sha256
    assert info_bad.extra["weights_changed_since_conversion"] == ["model.safetensors"]
    # tampered answers are cached under another model key: they never mix with the good ones
    assert model_key(model_identity("hf", info_bad)) != model_key(model_identity("hf", info_good))
    res = run_cli(["models", "verify", "embedded"], monkeypatch, capsys)
    assert_one_line_error(res, "not what the conversion wrote", str(d), "model.safetensors")

    # mtime put back: the cheap check is fooled (documented), the full hash of `models verify` is not
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    res = run_cli(["models", "verify", "embedded"], monkeypatch, capsys)
    assert_one_line_error(res, "not what the conversion wrote", str(d))

    # the original bytes back: the recorded identity again, and verify is content
    _rewrite(weights, span, original)
    assert loadable("embedded", "float32").sha256 == recorded
    assert run_cli(["models", "verify", "embedded"], monkeypatch, capsys).code == 0
