"""Run by tests/test_train.py, alone or under torchrun: a few steps of
helpers.translation.loop.train.

    python tests/ddp_worker.py DATA_DIR OUT_DIR ACCUMULATE

Each process saves its final weights and its losses to OUT_DIR/rank<R>.pt.
"""

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.translation.config import config_from  # noqa: E402
from helpers.translation.loop import train  # noqa: E402

torch.set_num_threads(1)
data, out, accumulate = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
config = config_from(
    "tiny",
    dataset=data,
    tokenizer="word",
    dropout=0.0,
    max_tokens=256,
    accumulate=accumulate,
    max_steps=4,
    eval_every=100,
    eval_sentences=4,
    device="cpu",
)
result = train(config, out, log=lambda message: None, progress=False)
rank = int(os.environ.get("RANK", "0"))
torch.save({"model": result.model.state_dict(), "losses": result.losses}, out / f"rank{rank}.pt")
