#!/usr/bin/env bash
# GPU verification of LoRA Lab's CUDA engine, for a machine with an NVIDIA GPU and no Node:
#   1. configure + build the native engine with plain CMake (-DLORALAB_CUDA=ON)
#   2. ctest -L cuda: every CUDA op vs the CPU reference (test_ops_cuda), the CUDA Llama vs the CPU
#      engine (test_llama_cuda), the CUDA Engine facade vs the CPU engine (test_engine_cuda), the Phi /
#      Falcon kernels (test_parallel_ops_cuda) and the Phi / Falcon models vs the CPU engine
#      (test_parallel_cuda); every test's full output in ctest-cuda-output.log
#   3. random tiny Llama vs PyTorch transformers + peft: logits, loss, LoRA grads, adapter after one
#      AdamW step loaded with PeftModel.from_pretrained (bench_cuda_compare + compare_torch.py)
#   4. benchmarks: bench_cuda_ops (kernels) and the same shapes in PyTorch; whole-model LoRA
#      training tokens/s and peak memory, LoRA Lab vs PyTorch + PEFT (bench_model.py, ~1B shape)
# Each part has its own timeout; logs and tables land in $OUT (default ./device-out). Total < 8 min.
# Usage (from the repository root): test/device/run.sh [BUILD_DIR]
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${OUT:-$ROOT/device-out}"
BUILD="${1:-$ROOT/build/device}"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }
JOBS="$(nproc 2>/dev/null || echo 4)"
START=$(date +%s)
DEADLINE=$((START + 470))   # the whole script stays under 8 minutes
# limit PART_SECONDS: the part's own timeout, cut to what is left of the script's 8 minutes
limit() { local left=$((DEADLINE - $(date +%s))); [ "$left" -lt 1 ] && left=1; [ "$1" -lt "$left" ] && echo "$1" || echo "$left"; }

note "== LoRA Lab device run $(date -u +%FT%TZ) on $(hostname)"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi: not available"; } | tee -a "$SUMMARY"
{ nvcc --version 2>&1 | tail -n 2; cmake --version 2>&1 | head -n 1; } > "$OUT/toolchain.txt"

# ---- 1. build (5 min) ----------------------------------------------------------------------------
GEN=""
command -v ninja > /dev/null 2>&1 && GEN="-G Ninja"
if timeout $(limit 240) bash -c "cmake -S '$ROOT/native' -B '$BUILD' -DLORALAB_CUDA=ON -DCMAKE_BUILD_TYPE=Release $GEN && cmake --build '$BUILD' -j$JOBS" > "$OUT/build.log" 2>&1; then
  note "build: ok ($(( $(date +%s) - START )) s)"
else
  note "build: FAILED (see build.log)"; tail -n 30 "$OUT/build.log"; exit 1
fi

# ---- 2. CUDA tests (2 min): ops, the CUDA Llama, the CUDA Engine ----------------------------------
if timeout $(limit 120) ctest --test-dir "$BUILD" -L cuda --output-on-failure > "$OUT/ctest-cuda.log" 2>&1; then
  note "ctest -L cuda: passed"
else
  note "ctest -L cuda: FAILED (see ctest-cuda.log)"
fi
grep -E "tests passed|tests failed|Skipped|Failed|test_engine_cuda|test_parallel" "$OUT/ctest-cuda.log" | tee -a "$SUMMARY"
cp "$BUILD/Testing/Temporary/LastTest.log" "$OUT/ctest-cuda-output.log" 2> /dev/null || true   # every test's own output
timeout $(limit 30) "$BUILD/test_ops_cuda" > "$OUT/test_ops_cuda.txt" 2>&1 || true   # the per-tensor worst differences

# ---- 3. tiny Llama vs PyTorch transformers + peft (2 min) -----------------------------------------
if [ -x "$BUILD/bench_cuda_compare" ]; then
  if python3 -c "import torch, transformers, peft" > /dev/null 2>&1; then
    if timeout $(limit 90) python3 "$ROOT/test/device/compare_torch.py" --driver "$BUILD/bench_cuda_compare" --out "$OUT" > "$OUT/compare.log" 2>&1; then
      note "compare vs transformers+peft: passed"
    else
      note "compare vs transformers+peft: FAILED (see compare.log)"
    fi
  else
    note "compare vs transformers+peft: skipped (python3 lacks torch / transformers / peft)"
  fi
else
  note "compare vs transformers+peft: skipped: no whole-model CUDA driver (bench_cuda_compare) in this build yet"
fi

# ---- 4. benchmarks (5 min) --------------------------------------------------------------------------
if timeout $(limit 60) "$BUILD/bench_cuda_ops" > "$OUT/bench_cuda_ops.md" 2>&1; then
  note "bench_cuda_ops: ok (bench_cuda_ops.md)"
else
  note "bench_cuda_ops: FAILED or timed out (see bench_cuda_ops.md)"
fi
if python3 -c "import torch; assert torch.cuda.is_available()" > /dev/null 2>&1; then
  if timeout $(limit 45) python3 "$ROOT/test/device/bench_torch_ops.py" > "$OUT/bench_torch_ops.md" 2>&1; then
    note "bench_torch_ops (PyTorch, same shapes): ok (bench_torch_ops.md)"
  else
    note "bench_torch_ops: FAILED or timed out (see bench_torch_ops.md)"
  fi
  if python3 -c "import transformers, peft" > /dev/null 2>&1; then
    if timeout $(limit 200) python3 "$ROOT/test/device/bench_model.py" --driver "$BUILD/bench_cuda_compare" > "$OUT/bench_model.md" 2>&1; then
      note "bench_model (LoRA Lab vs PyTorch+PEFT, 1B shape): ok (bench_model.md)"
    else
      note "bench_model: FAILED or timed out (see bench_model.md)"
    fi
  fi
else
  note "bench_torch_ops / bench_model: skipped (no PyTorch with CUDA)"
fi
note "total: $(( $(date +%s) - START )) s"
