#!/usr/bin/env bash
# The course's GPU checks, repeatable on any CUDA machine in about 5 minutes:
#   bash benchmarks/gpu_check.sh [RUN_DIR]
# 1. training throughput of the `gpu` preset: bf16 + fused attention vs float32 with the course's
#    own attention vs torch.nn.Transformer, same run;
# 2. attention and Transformer-step benchmarks on the GPU;
# 3. a 2-minute toy-en-de training run with the `gpu` preset (tokens/s, BLEU with beam 4).
# Figures go to benchmarks/RESULTS.md by hand, with the card's name printed first.
set -euo pipefail
RUN=${1:-runs/gpu-check}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
$PY -m benchmarks.training --preset gpu --device cuda --repeats 20
$PY -m benchmarks.attention --device cuda --sizes 512 1024 2048 4096
$PY -m benchmarks.transformer --device cuda
$PY -m helpers.translation train --dataset toy-en-de --preset gpu --max-minutes 2 --eval-every 1000 \
    --out "$RUN/toy-en-de" --no-progress
$PY -m helpers.translation evaluate --checkpoint "$RUN/toy-en-de/last.pt" --split test --beam 4
