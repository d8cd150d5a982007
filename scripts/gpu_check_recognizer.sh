#!/usr/bin/env bash
# GPU check of the recogniser: CUDA + AMP training of the *base* model (≈1.4 M params), throughput.
#
#   bash scripts/gpu_check_recognizer.sh            # ≈ 3-5 minutes on one H100 (data generation included)
#   STEPS=300 BATCH=64 bash scripts/gpu_check_recognizer.sh
#
# What it does (all output on stdout; files under ${OUT:-/tmp/gpu_check_recognizer}):
#   1. nvidia-smi and the python / torch / CUDA versions;
#   2. pure model throughput with random input (no data loading): base model, (N, 9, 48, 22) clips,
#      fp32 vs AMP fp16, fwd+bwd+AdamW step, clips/s and peak GPU memory; also a dense (per-frame)
#      forward over a 2-minute sequence;
#   3. `mgreason train configs/recognizer/base.yaml` for $STEPS optimiser steps on CUDA with AMP
#      (small synthetic data), per-epoch eval, best checkpoint;
#   4. the checkpoint loads on the CPU and gives the same predictions (within fp16 tolerance).
#
# On the lent device machines (see the session's device tool): `python3` there has torch, numpy,
# scipy, typer, rich, pyyaml and safetensors, but not pydantic. Before the run, download its wheels
# here into the ignored .whl/ folder and carry it:
#   python3 -m pip download pydantic -d .whl --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
# then run:  bash scripts/gpu_check_recognizer.sh   with carry [".whl"]  (timeout_s ≈ 540).
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
STEPS="${STEPS:-300}"
BATCH="${BATCH:-64}"
OUTDIR="${OUT:-/tmp/gpu_check_recognizer}"
mkdir -p "$OUTDIR"
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
export MGREASON_PROGRESS=0

echo "== 1. environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi: not available"
if ! "$PY" -c "import pydantic" 2>/dev/null; then
  if [ -d .whl ]; then
    echo "installing pydantic from .whl/"
    "$PY" -m pip install --quiet --no-index --find-links .whl pydantic || { echo "FAIL: pydantic install"; exit 3; }
  else
    echo "FAIL: pydantic is missing and no .whl/ folder was carried (see the header of this script)"; exit 3
  fi
fi
"$PY" - <<'EOF' || exit 4
import sys, torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| available", torch.cuda.is_available())
if not torch.cuda.is_available():
    print("FAIL: no CUDA device"); sys.exit(1)
print("device:", torch.cuda.get_device_name(0))
EOF

echo "== 2. model throughput (random input)"
STEPS="$STEPS" BATCH="$BATCH" "$PY" - <<'EOF' || exit 5
import os, time, torch
from mgreason.recognizer.config import ModelConfig
from mgreason.recognizer.model import arch_from_config, build_model

steps, batch = int(os.environ["STEPS"]), int(os.environ["BATCH"])
dev = torch.device("cuda")
torch.backends.cudnn.benchmark = True
for size in ("base", "tiny"):
    arch = arch_from_config(ModelConfig(size=size), "imigue22", 33, 2)
    for amp in (False, True):
        torch.manual_seed(0)
        model = build_model(arch).to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        x = torch.randn(batch, model.in_channels, 48, 22, device=dev)
        y = torch.randint(0, 33, (batch,), device=dev)
        n = min(steps, 100) if size == "tiny" else steps
        torch.cuda.reset_peak_memory_stats()
        for i in range(n + 10):
            if i == 10:
                torch.cuda.synchronize(); t = time.time()
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                out = model(x)
                loss = sum(model.losses(out, y).values())
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt); scaler.update()
        torch.cuda.synchronize()
        dt = time.time() - t
        print(f"{size:4s} {'AMP ' if amp else 'fp32'} batch {batch}: {n} steps in {dt:.2f} s = "
              f"{n * batch / dt:,.0f} clips/s, {1000 * dt / n:.1f} ms/step, peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB, "
              f"loss {float(loss.detach()):.3f}")
    model.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
        long = torch.randn(1, model.in_channels, 3000, 22, device=dev)
        model.dense(long); torch.cuda.synchronize(); t = time.time()
        d = model.dense(long); torch.cuda.synchronize()
    print(f"{size:4s} dense forward, 2 min at 25 fps (3000 frames): {1000 * (time.time() - t):.1f} ms, logits {tuple(d.logits.shape)}")
EOF

echo "== 3. mgreason train (CUDA, AMP) on small synthetic data"
T0=$(date +%s)
"$PY" -m mgreason.cli train configs/recognizer/base.yaml --out "$OUTDIR/run" --device cuda --quiet \
  --set optim.max_steps="$STEPS" --set optim.batch_size="$BATCH" --set optim.num_workers=4 \
  --set data.synth.clips_per_class=40 --set data.synth.background_clips=40 \
  || { echo "FAIL: training"; exit 6; }
echo "train wall: $(( $(date +%s) - T0 )) s (data generation included)"
head -c 600 "$OUTDIR/run/test_metrics.json"; echo

echo "== 4. the CUDA-trained checkpoint on the CPU"
OUTDIR="$OUTDIR" "$PY" - <<'EOF' || exit 7
import os, torch
from mgreason.recognizer.inference import Recognizer
from mgreason.synth import generate_clips
p = os.path.join(os.environ["OUTDIR"], "run", "best")
cpu, gpu = Recognizer.load(p, "cpu"), Recognizer.load(p, "cuda")
seqs = list(generate_clips(2, seed=99, n_subjects=3).sequences())[:24]
a = [s.label for s in cpu.classify(seqs)]
b = [s.label for s in gpu.classify(seqs)]
same = sum(x == y for x, y in zip(a, b))
print(f"CPU vs CUDA predictions agree on {same}/{len(a)} clips")
print("OK" if same >= len(a) - 1 else "WARN: CPU and CUDA disagree")
EOF
echo "== done"
