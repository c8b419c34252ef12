#!/usr/bin/env bash
# Notebook 05's GPU figures (issue 13) in one run of at most 8 minutes on one CUDA GPU:
#
#   bash benchmarks/gpu_check.sh            # on a CUDA machine; writes benchmarks/gpu_results.json
#   bash benchmarks/gpu_check.sh --smoke    # the same steps on the CPU at tiny sizes (a check)
#
# 1. the card, driver, torch and CUDA versions;
# 2. the unit tests that need CUDA: DistributedDataParallel with NCCL in one process, bf16/fp16
#    selection (tests/test_train.py, tests/test_precision.py);
# 3. python -m benchmarks.training --preset gpu --suite: tokens/s and peak memory in fp32, TF32,
#    bf16 and fp16 + GradScaler; the scaled_dot_product_attention backends checked equal; compile
#    against eager; the cost of a per-step host sync; the course's model against
#    torch.nn.Transformer;
# 4. notebook 05's GPU training run (helpers.translation.config.NOTEBOOK_RUNS["cuda"]: Multi30k
#    de->en, `gpu` preset) for MULTI30K_MINUTES minutes (default 5), then test2016 BLEU with beam 4
#    (cased sacrebleu), recorded in the same file.
#
# Multi30k is downloaded on first use; on a machine without internet put its six .gz files in
# $COURSE_DATA_DIR/multi30k first (data/README.md). Figures go to $RESULTS (default
# benchmarks/gpu_results.json), which the notebook and benchmarks/RESULTS.md read; the logs to
# RUN_DIR (default runs/gpu-check). With --smoke nothing in benchmarks/ is touched: the results
# go to RUN_DIR/gpu_results.json, and toy-en-de replaces Multi30k.
set -euo pipefail
SMOKE=0
if [[ "${1:-}" == "--smoke" ]]; then SMOKE=1; shift; fi
RUN=${1:-runs/gpu-check}
PY=${PYTHON:-python3}
MINUTES=${MULTI30K_MINUTES:-5}
export PYTHONUNBUFFERED=1
mkdir -p "$RUN"
TRAIN=$($PY -c "from helpers.translation.config import NOTEBOOK_RUNS
import shlex
print(shlex.join(f'--{k.replace(\"_\", \"-\")}={v}' for k, v in NOTEBOOK_RUNS['cuda'].items()))")

if [[ $SMOKE == 1 ]]; then
    RESULTS=${RESULTS:-$RUN/gpu_results.json}
    DEVICE=(--device cpu)
    BENCH=(--preset tiny --batches 2 --repeats 1 --no-compile)
    TRAIN="$TRAIN --preset=tiny --dataset=toy-en-de --max-tokens=1024 --max-steps=2"
    TRAIN="$TRAIN --eval-every=2 --eval-sentences=4"
    EVALUATE=(--limit 4)
else
    RESULTS=${RESULTS:-benchmarks/gpu_results.json}
    DEVICE=(--device cuda)
    BENCH=(--preset gpu --repeats 10)
    TRAIN="$TRAIN --max-minutes=$MINUTES"
    EVALUATE=()
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    $PY -m pytest -q -p no:cacheprovider tests/test_train.py tests/test_precision.py
fi
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

$PY -m benchmarks.training "${BENCH[@]}" "${DEVICE[@]}" --suite --json "$RESULTS"

# shellcheck disable=SC2086  # TRAIN holds one option per word, each quoted by shlex
$PY -m helpers.translation train $TRAIN "${DEVICE[@]}" --out "$RUN/notebook-run" --no-progress
$PY -m helpers.translation evaluate --checkpoint "$RUN/notebook-run/best.pt" --split test \
    --beam 4 "${DEVICE[@]}" "${EVALUATE[@]}" --json "$RUN/notebook-run/test.json"
$PY -m benchmarks.training --record-run "$RUN/notebook-run" --json "$RESULTS"
