"""The dtype policy of local models: which dtype a model runs in when none is asked for, and the names a
dtype may be asked by. Low on purpose: the hf backend, ``mgreason models info`` and the installer (which
stores a converted model in the dtype it will run in) read the same policy."""

from __future__ import annotations

from typing import Optional

from mgreason.errors import BackendError

DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}

BF16_CPU_FLAGS = ("amx_tile", "avx512_bf16")


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def default_dtype(device: str = "cpu", flags: Optional[set[str]] = None) -> tuple[str, str]:
    """(dtype, why) when none is requested: bfloat16 on CPUs with AMX or AVX-512 BF16, float32 elsewhere.

    bfloat16 ran Qwen2.5-Coder-1.5B ~5x faster than float32 with the same answers on an AMX CPU; on CPUs
    without these instructions it is usually slower than float32. Other devices keep float32.
    """
    if str(device) != "cpu":
        return "float32", f"device {device}: float32 unless -E dtype=... is given"
    flags = cpu_flags() if flags is None else flags
    have = [f for f in BF16_CPU_FLAGS if f in flags]
    if have:
        return "bfloat16", f"auto: CPU has {', '.join(have)}"
    return "float32", "auto: CPU has neither amx_tile nor avx512_bf16"


def pick_dtype(dtype: Optional[str], device: str = "cpu") -> tuple[str, str]:
    """(dtype, why) for a requested dtype (None or ``auto``: :func:`default_dtype`); an unknown name is one error."""
    if dtype is None or str(dtype).strip().lower() == "auto":
        return default_dtype(device)
    key = str(dtype).strip().lower()
    if key not in DTYPES:
        raise BackendError(f"unknown dtype {dtype!r}; choose one of: auto, float32, bfloat16, float16", field="dtype")
    return DTYPES[key], f"requested: {dtype}"


def stored_dtype(dtype: str) -> str:
    """The dtype a converted model is stored in to run in ``dtype`` without a second full copy: bfloat16 for
    bfloat16 (the same bits as casting the float32 conversion), float32 otherwise (float16 is cast from it
    at load, as before: rounding bfloat16 to float16 would round twice)."""
    return "bfloat16" if dtype == "bfloat16" else "float32"


__all__ = ["BF16_CPU_FLAGS", "DTYPES", "cpu_flags", "default_dtype", "pick_dtype", "stored_dtype"]
