"""sha256 of model weights, memoised by (path, size, mtime) in ``$MGREASON_CACHE_DIR/sha256.json``.

A memoised hash is re-used only while the file keeps its size and modification time (the cheap check);
``full=True`` re-reads the bytes whatever the memo says (``mgreason models verify``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

from mgreason.errors import BackendError
from mgreason.fileio import atomic_write_text, cache_dir

_sha_lock = threading.Lock()
_CHUNK = 8 << 20
_SKIP_PREFIXES = ("optimizer", "scheduler", "training_args", "rng_state")


def _sha_cache_file() -> Path:
    return cache_dir() / "sha256.json"


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; {} when it is missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, RecursionError):
        return {}


def sha256_of(path: Path) -> str:
    """Streaming sha256 of one file's bytes (no memo)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path, *, full: bool = False) -> str:
    """sha256 of one file, memoised by (resolved path, size, mtime_ns); ``full`` re-reads it anyway."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = _sha_cache_file()
    if not full:
        with _sha_lock:
            cached = read_json(cache_file).get(key)
        if isinstance(cached, str) and re.fullmatch(r"[0-9a-f]{64}", cached):
            return cached
    digest = sha256_of(path)
    remember(path, st.st_size, st.st_mtime_ns, digest)
    return digest


def remember(path: Path, size: int, mtime_ns: int, digest: str) -> None:
    """Memoise ``digest`` for ``path`` at this size and mtime (dropping older entries of the same path)."""
    path = Path(path).resolve()
    cache_file = _sha_cache_file()
    with _sha_lock:
        try:
            data = read_json(cache_file)
            prefix = f"{path}|"
            data = {k: v for k, v in data.items() if not k.startswith(prefix)}
            data[f"{path}|{size}|{mtime_ns}"] = digest
            atomic_write_text(cache_file, json.dumps(data, indent=1, sort_keys=True))
        except OSError:
            pass  # a read-only cache only costs re-hashing


def weight_files(path: str | Path) -> list[Path]:
    """The weight file(s) of a model directory (safetensors preferred), or ``[path]`` for a file."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise BackendError(f"model path {str(path)!r} does not exist", field="model")
    for suffixes in ((".safetensors",), (".bin", ".pt", ".pth"), (".gguf",)):
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in suffixes)
        # skip training leftovers such as optimizer.pt / training_args.bin
        files = [f for f in files if not f.name.startswith(_SKIP_PREFIXES)]
        if files:
            return files
    return []


def combine(named: list[tuple[str, str]]) -> str:
    """One digest for a model's weight files: a single file's own sha256 (equal to the hub's LFS oid), or for
    several shards the sha256 of the lines ``"<name> <sha256>\\n"`` over the sorted names."""
    if len(named) == 1:
        return named[0][1]
    h = hashlib.sha256()
    for name, digest in sorted(named):
        h.update(f"{name} {digest}\n".encode())
    return h.hexdigest()


def weights_sha256(path: str | Path, *, full: bool = False) -> str:
    """sha256 of a model's weights (see :func:`combine`); ``full`` re-reads every file."""
    files = weight_files(path)
    if not files:
        raise BackendError(f"no weight files (*.safetensors, *.bin, *.gguf) in {str(path)!r}", field="model")
    return combine([(f.name, file_sha256(f, full=full)) for f in files])


__all__ = ["combine", "file_sha256", "read_json", "remember", "sha256_of", "weight_files", "weights_sha256"]
