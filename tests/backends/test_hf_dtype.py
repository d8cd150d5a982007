"""The hf backend's CPU dtype policy (issue 14): bfloat16 where the CPU has AMX or AVX-512 BF16."""

from __future__ import annotations

import pytest

from mgreason.backends.hf import HFBackend
from mgreason.models.dtype import default_dtype
from mgreason.errors import BackendError


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"avx2", "avx512f", "amx_tile", "amx_bf16"}, "bfloat16"),
        ({"avx2", "avx512f", "avx512_bf16"}, "bfloat16"),
        ({"avx2", "avx512f", "avx512_vnni"}, "float32"),
        (set(), "float32"),
    ],
)
def test_default_dtype_follows_the_cpu_flags(flags, expected):
    dtype, why = default_dtype("cpu", flags)
    assert dtype == expected
    assert why.startswith("auto:")
    if expected == "bfloat16":
        assert any(f in why for f in ("amx_tile", "avx512_bf16"))


def test_other_devices_keep_float32():
    assert default_dtype("cuda", {"amx_tile"})[0] == "float32"


def test_default_dtype_reads_this_machine():
    flags = set()
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    expected = "bfloat16" if flags & {"amx_tile", "avx512_bf16"} else "float32"
    assert default_dtype("cpu")[0] == expected


def test_unknown_dtype_is_one_clear_error_before_loading():
    with pytest.raises(BackendError, match="unknown dtype 'int3'; choose one of: auto, float32, bfloat16"):
        HFBackend("no-such-model-is-loaded", dtype="int3")
