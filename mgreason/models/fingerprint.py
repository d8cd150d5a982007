"""What identifies a local model's files without loading it, recorded by sweeps so that a later run notices
weights or configuration that changed behind the same name (:func:`model_fingerprint`,
:func:`fingerprint_changes`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

from mgreason.errors import MGReasonError
from mgreason.models.hashing import weight_files, weights_sha256
from mgreason.models.resolve import resolve_model

_SMALL_FILE = 64 << 20  # config/tokenizer JSON files up to this size are hashed whole


def model_fingerprint(spec: Optional[str], dtype: Optional[str] = None) -> Optional[dict]:
    """What identifies a model's files, found without loading it (a ``stat`` per weight file and a hash of
    the small JSON files): the resolved path, the weights' sha256 when it is known without reading them
    (the embedded and catalogue models: the verified GGUF's), and per file of a local model either
    ``{"sha256": ...}`` (``*.json``: config, tokenizer, generation settings) or ``{"size": ..., "mtime_ns": ...}``
    (weight files). None when ``spec`` names no local model (a name the backend alone knows, a hub id
    without a local snapshot). A catalogue model's files are those of its conversion for ``dtype`` (the
    backend's dtype option) where that conversion exists. Compare two with :func:`fingerprint_changes`."""
    try:
        r = resolve_model(spec)
    except MGReasonError:
        return None
    root: Optional[Path] = r.weights_path
    if r.catalog and dtype:
        from mgreason.models.catalog import get
        from mgreason.models.convert import is_complete
        from mgreason.models.dtype import DTYPES
        from mgreason.models.install import hf_dir

        want = DTYPES.get(str(dtype).strip().lower())
        if want and is_complete(hf_dir(get(r.catalog), want), r.sha256, want):
            root = hf_dir(get(r.catalog), want)
    if r.kind == "hub":
        try:
            from huggingface_hub import snapshot_download

            root = Path(snapshot_download(r.path_or_id, local_files_only=True))
        except Exception:  # noqa: BLE001 - not in the local cache, or no huggingface_hub
            return None
    files: dict[str, dict] = {}
    try:
        paths = weight_files(root) + (sorted(root.glob("*.json")) if root.is_dir() else [])
        for f in paths:
            st = f.stat()
            if f.suffix == ".json" and st.st_size <= _SMALL_FILE:
                files[f.name] = {"sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
            else:
                files[f.name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except (OSError, MGReasonError):
        return None
    return {"resolved": str(root), "sha256": r.sha256, "files": files}


def fingerprint_changes(old: dict, new: dict, *, weights_sha256_then: Optional[str] = None) -> list[str]:
    """What differs between two :func:`model_fingerprint` results, one phrase each (empty: the same model).

    Weight files that differ only in modification time (a copy, ``touch``) are not a change when their
    sha256 now (memoised per size and mtime, so it is read once) equals ``weights_sha256_then`` (the sha256
    of the weights loaded then) or the source sha256 the old fingerprint recorded (a GGUF's)."""
    changes = []
    for key, what in (("resolved", "resolved path"), ("sha256", "weights sha256")):
        if old.get(key) != new.get(key):
            changes.append(f"{what} {old.get(key)} -> {new.get(key)}")
    a, b = old.get("files") or {}, new.get("files") or {}
    touched = []
    for name in sorted(set(a) | set(b)):
        fa, fb = a.get(name), b.get(name)
        if fa == fb:
            continue
        if fa is None or fb is None:
            changes.append(f"{name} {'added' if fa is None else 'removed'}")
        elif "sha256" in fa or "sha256" in fb:
            changes.append(f"{name} content changed")
        elif fa.get("size") != fb.get("size"):
            changes.append(f"{name} size {fa.get('size')} -> {fb.get('size')} bytes")
        else:
            touched.append(name)
    if touched and not changes:
        now = None
        if weights_sha256_then:
            try:
                now = weights_sha256(new["resolved"])
            except (OSError, MGReasonError):
                now = None
        if now is None or now not in (weights_sha256_then, old.get("sha256")):
            changes.append(f"{', '.join(touched)} modified (same size, new modification time"
                           + (", other sha256)" if now is not None else ")"))  # fmt: skip
    elif touched:
        changes.append(f"{', '.join(touched)} modified")
    return changes


__all__ = ["fingerprint_changes", "model_fingerprint"]
