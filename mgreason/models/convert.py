"""GGUF -> transformers safetensors conversion, done once per (GGUF, dtype) and cached.

Loading a GGUF through transformers dequantises every tensor (20-40 s for the 135M, minutes for the 1.5B),
so local GGUF models are converted once into a safetensors directory that later loads read directly (and
that vLLM can serve). The directory is stored in the dtype the model will run in (:func:`stored_dtype`):
a bfloat16 run then maps the stored bfloat16 tensors instead of reading float32 ones and keeping a cast
copy (the 1.5B: 11 GB peak RSS before, see README). The bfloat16 tensors are the float32 dequantisation
rounded to bfloat16 exactly as a load with ``dtype=bfloat16`` rounds the float32 directory, so the answers
are the same.

Layout (in ``$MGREASON_CACHE_DIR/models``)::

    <name>-<sha12>/             float32 conversion of the GGUF whose sha256 starts with sha12
    <name>-<sha12>-bfloat16/    bfloat16 conversion of the same GGUF

Each directory holds ``mgreason_conversion.json``, written last (its presence means the conversion is
complete), naming the source GGUF and its sha256, the dtype, and -- the identity of what is loaded -- the
sha256, size and modification time of every weight file as written (:func:`loaded_weights`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from mgreason.errors import BackendError
from mgreason.models.dtype import stored_dtype
from mgreason.models.hashing import combine, file_sha256, read_json, remember, sha256_of, weight_files
from mgreason.models.lock import file_lock

CONVERSION_MARKER = "mgreason_conversion.json"


def converted_dir(models_dir: Path, name: str, source_sha256: str, dtype: str) -> Path:
    """Where the conversion of a GGUF (``name``, its sha256) to run in ``dtype`` lives."""
    base = f"{name}-{source_sha256[:12]}"
    stored = stored_dtype(dtype)
    return models_dir / (base if stored == "float32" else f"{base}-{stored}")


def read_marker(d: Path) -> dict:
    return read_json(Path(d) / CONVERSION_MARKER)


def is_complete(d: Path, source_sha256: Optional[str] = None, dtype: Optional[str] = None) -> bool:
    """A finished conversion (of that GGUF, in that stored dtype, when given)."""
    d = Path(d)
    if not ((d / CONVERSION_MARKER).is_file() and (d / "config.json").is_file()):
        return False
    if source_sha256 is None and dtype is None:
        return True
    marker = read_marker(d)
    if source_sha256 is not None and marker.get("source_sha256") != source_sha256:
        return False
    return dtype is None or marker.get("dtype", "float32") == stored_dtype(dtype)


def ensure_converted(
    gguf: Path,
    target: Path,
    *,
    source_sha256: str,
    dtype: str,
    before: Callable[[], None] = lambda: None,
) -> Path:
    """``target`` converted from ``gguf`` in ``stored_dtype(dtype)``, converting it now when it is missing.

    ``before`` runs only when a conversion is needed (memory and disk checks). A lock file beside the target
    keeps two processes from converting at once; the conversion writes into a temporary directory and renames
    it into place, so nobody sees a half-written directory.
    """
    if is_complete(target, source_sha256, dtype):
        return target
    before()
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if is_complete(target, source_sha256, dtype):  # another process converted it while we waited
            return target
        return convert_gguf_to_hf_dir(gguf, target, source_sha256=source_sha256, dtype=dtype)


def convert_gguf_to_hf_dir(
    gguf: Path, target: Path, *, source_sha256: Optional[str] = None, dtype: str = "float32"
) -> Path:
    """Dequantise ``gguf`` and save it (model in ``stored_dtype(dtype)``, tokenizer, chat template) at ``target``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    stored = stored_dtype(dtype)
    torch_dtype = getattr(torch, stored)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            # each tensor is dequantised to float32 and cast to the stored dtype at once (round to nearest
            # even, as a float32 -> bfloat16 load does), so the float32 model never exists in memory whole
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch_dtype)
        except ImportError as exc:
            raise BackendError(f"cannot load the GGUF {str(gguf)!r}: {exc}", field="model") from exc
        # A model loaded from a GGUF refuses save_pretrained while it carries the quantizer.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            delattr(model.config, "quantization_config")
        model.to(torch_dtype)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        del model
        _normalise_saved_dir(tmp, tok, stored)
        weights = weights_record(tmp)
        marker = {
            "source": str(gguf),
            "source_sha256": source_sha256 or file_sha256(gguf),
            "dtype": stored,
            "transformers_version": transformers.__version__,
            "weights": weights,
            "weights_sha256": combine([(n, w["sha256"]) for n, w in weights.items()]),
        }
        with open(tmp / CONVERSION_MARKER, "w", encoding="utf-8") as fh:
            json.dump(marker, fh, indent=2)
        try:
            os.rename(tmp, target)
        except OSError:
            if is_complete(target, marker["source_sha256"], stored):  # another process finished first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            if target.exists():  # an incomplete leftover: replace it
                stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
                os.rename(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
                os.rename(tmp, target)
            else:
                raise
        for name, w in weights.items():  # the rename keeps sizes and mtimes: memoise the hashes for later loads
            remember(target / name, w["size"], w["mtime_ns"], w["sha256"])
        return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def weights_record(d: Path) -> dict:
    """sha256, size and mtime of every weight file of ``d`` (hashed now): what a conversion records."""
    out = {}
    for f in weight_files(d):
        st = f.stat()
        out[f.name] = {"sha256": sha256_of(f), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return out


def _normalise_saved_dir(d: Path, tok, dtype: str) -> None:
    """Make config/tokenizer files portable (older transformers, vLLM)."""
    cfg_path = d / "config.json"
    cfg = read_json(cfg_path)
    cfg.pop("_model_name_or_path", None)
    cfg.pop("quantization_config", None)
    cfg["architectures"] = cfg.get("architectures") or ["LlamaForCausalLM"]
    cfg["torch_dtype"] = dtype
    if "dtype" in cfg:
        cfg["dtype"] = dtype
    rope = cfg.get("rope_parameters")
    if isinstance(rope, dict) and "rope_theta" in rope:
        cfg.setdefault("rope_theta", rope["rope_theta"])  # transformers 4.x / vLLM read the flat key
    with open(cfg_path, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2, sort_keys=True)

    tc_path = d / "tokenizer_config.json"
    tc = read_json(tc_path)
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


# --------------------------------------------------------------------------- identity of what is loaded


@dataclass(frozen=True)
class LoadedWeights:
    """The digest of a converted directory's weight files now (``sha256``) and as the conversion wrote them
    (``recorded``; None for a directory converted before conversions recorded it). ``changed`` names the
    weight files whose bytes differ from the record (checked by size and mtime unless hashed in full)."""

    sha256: str
    recorded: Optional[str]
    changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.recorded is None or self.sha256 == self.recorded


def loaded_weights(d: Path, *, full: bool = False) -> LoadedWeights:
    """The identity of a converted directory's weights, re-checked cheaply.

    When every weight file keeps the size and mtime the conversion recorded, the recorded digest is the
    answer (no read). Otherwise -- and always with ``full`` -- the files are hashed (memoised per size and
    mtime, so a changed file is read once) and compared with the record."""
    d = Path(d)
    marker = read_marker(d)
    rec = marker.get("weights") if isinstance(marker.get("weights"), dict) else None
    files = weight_files(d)
    if not files:
        raise BackendError(f"no weight files (*.safetensors, *.bin, *.gguf) in {str(d)!r}", field="model")
    recorded = marker.get("weights_sha256") if rec is not None else None
    if rec is not None and not full and set(rec) == {f.name for f in files}:
        same = True
        for f in files:
            st = f.stat()
            w = rec[f.name]
            if not isinstance(w, dict) or (w.get("size"), w.get("mtime_ns")) != (st.st_size, st.st_mtime_ns):
                same = False
                break
        if same and isinstance(recorded, str):
            return LoadedWeights(recorded, recorded)
    named = [(f.name, file_sha256(f, full=full)) for f in files]
    changed: tuple[str, ...] = ()
    if rec is not None:
        now = dict(named)
        changed = tuple(sorted(n for n in set(now) | set(rec) if not isinstance(rec.get(n), dict) or rec[n].get("sha256") != now.get(n)))
    return LoadedWeights(combine(named), recorded if isinstance(recorded, str) else None, changed)


__all__ = [
    "CONVERSION_MARKER",
    "LoadedWeights",
    "convert_gguf_to_hf_dir",
    "converted_dir",
    "ensure_converted",
    "is_complete",
    "loaded_weights",
    "read_marker",
    "weights_record",
]
