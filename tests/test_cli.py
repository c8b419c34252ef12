"""helpers.translation.cli: train, evaluate and average from the command line; every user
mistake is one line `error: ...` on stderr and exit status 2, with no traceback."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import helpers.translation.config
import helpers.translation.loop
from helpers.translation.checkpoint import load_checkpoint, load_translator, save_checkpoint
from helpers.translation.cli import main, parser, run_command
from tests.translation_corpus import write_reversal_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_reversal_corpus(tmp_path_factory.mktemp("corpus"))


def _train(corpus: Path, out: Path, *extra: str):
    return run_command(
        [
            "train", "--preset", "tiny", "--dataset", str(corpus), "--out", str(out),
            "--tokenizer", "word", "--device", "cpu", "--max-tokens", "256",
            "--eval-sentences", "4", "--no-progress", *extra,
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory) -> Path:
    """A 4-step run that evaluated at steps 2 and 4 and kept both checkpoints."""
    out = tmp_path_factory.mktemp("run")
    _train(corpus, out, "--max-steps", "4", "--eval-every", "2", "--keep-checkpoints", "2")
    return out


def _error(capsys, argv: list[str], status: int = 2) -> str:
    """The one-line message `main(argv)` exits with."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_options_take_their_types_from_the_config_fields():
    args = parser().parse_args(
        ["train", "--out", "x", "--no-tie-weights", "--compile", "--max-minutes", "2.5",
         "--src-lang", "en", "--d-model", "64"]
    )  # fmt: skip
    assert (args.tie_weights, args.compile, args.norm_first) == (False, True, None)
    assert (args.max_minutes, args.src_lang, args.d_model) == (2.5, "en", 64)
    assert args.progress is True
    with pytest.raises(SystemExit):
        parser().parse_args(["train", "--out", "x", "--precision", "half"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "nope"], "dataset must be 'multi30k' or 'toy-en-de', or the path"),
        (["--d-model", "-5"], "d_model must be a positive integer; got -5"),
        (["--dropout", "1.5"], r"dropout must be in \[0, 1\); got 1.5"),
        (["--nhead", "3"], "d_model must be divisible by nhead"),
        (["--dataset", "/no/such/corpus"], "dataset '/no/such/corpus': no such file or directory"),
    ],
)
def test_train_refuses_invalid_settings(argv, message, capsys, tmp_path):
    line = _error(capsys, ["train", "--out", str(tmp_path), "--device", "cpu", *argv])
    assert re.search(message, line), line


def test_settings_are_checked_before_any_data_loads(capsys, tmp_path, monkeypatch):
    def load_dataset(*args, **kwargs):
        raise AssertionError("data was loaded before the configuration was checked")

    monkeypatch.setattr(helpers.translation.config, "load_dataset", load_dataset)
    line = _error(capsys, ["train", "--dataset", "multi30k", "--d-model", "-5", "--out", "x"])
    assert line == "error: d_model must be a positive integer; got -5"


def test_a_malformed_data_line_is_named(capsys, tmp_path):
    write_reversal_corpus(tmp_path, {"train": 5, "valid": 2})
    with open(tmp_path / "train.tsv", "a", encoding="utf-8") as f:
        f.write("a line without its translation\n")
    line = _error(capsys, ["train", "--dataset", str(tmp_path), "--out", str(tmp_path / "run")])
    assert "train.tsv, line 6: expected at least 2 tab-separated columns, got 1" in line


def test_resume_refuses_a_changed_configuration_and_a_missing_run(run, capsys, tmp_path):
    line = _error(capsys, ["train", "--out", str(run), "--resume", "--d-model", "32"])
    assert "cannot resume with a different configuration" in line
    assert "d_model: checkpoint 64, now 32" in line
    line = _error(capsys, ["train", "--out", str(tmp_path), "--resume"])
    assert line == f"error: no checkpoint file at {tmp_path / 'last.pt'}"


def test_evaluate_refuses_missing_truncated_and_foreign_checkpoints(run, capsys, tmp_path):
    def evaluate(path) -> str:
        return _error(capsys, ["evaluate", "--checkpoint", str(path)])

    assert evaluate(tmp_path / "none.pt") == f"error: no checkpoint file at {tmp_path / 'none.pt'}"
    data = (run / "best.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    assert "truncated.pt is not a valid course checkpoint" in evaluate(tmp_path / "truncated.pt")
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    assert "notes.pt is not a valid course checkpoint" in evaluate(tmp_path / "notes.pt")
    torch.save({"weights": torch.ones(3)}, tmp_path / "foreign.pt")
    assert "missing keys ['model'" in evaluate(tmp_path / "foreign.pt")
    save_checkpoint(tmp_path / "linear.pt", model=torch.nn.Linear(2, 2), step=0, config={})
    assert "linear.pt is not a translator checkpoint" in evaluate(tmp_path / "linear.pt")


def test_evaluate_refuses_an_unknown_split_and_a_bad_beam(run, capsys):
    checkpoint = str(run / "best.pt")
    line = _error(capsys, ["evaluate", "--checkpoint", checkpoint, "--split", "nope"])
    assert "has splits 'train', 'valid'" in line and "got split='nope'" in line
    line = _error(capsys, ["evaluate", "--checkpoint", checkpoint, "--beam", "0"])
    assert line == "error: --beam must be a positive integer; got 0"


def test_evaluate_scores_a_checkpoint_and_exports_a_model_only_copy(run, corpus, capsys, tmp_path):
    scores = run_command(
        ["evaluate", "--checkpoint", str(run / "last.pt"), "--dataset", str(corpus),
         "--split", "valid", "--beam", "2", "--limit", "5", "--export", str(tmp_path / "m.pt")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith("valid: BLEU") and "BLEU signature: nrefs:1" in out
    assert scores.num_sentences == 5
    exported = load_checkpoint(tmp_path / "m.pt")
    assert exported["optimizer"] is None and exported["step"] == 4
    assert exported["metrics"]["valid_beam2"]["bleu"] == scores.bleu


def test_evaluate_writes_its_scores_as_json(run, corpus, capsys, tmp_path):
    scores = run_command(
        ["evaluate", "--checkpoint", str(run / "last.pt"), "--dataset", str(corpus),
         "--split", "valid", "--beam", "1", "--limit", "3", "--json", str(tmp_path / "s.json")]
    )  # fmt: skip
    record = json.loads((tmp_path / "s.json").read_text())
    assert (record["split"], record["beam"], record["num_sentences"]) == ("valid", 1, 3)
    assert record["bleu"] == scores.bleu and record["bleu_signature"].startswith("nrefs:1")
    assert record["seconds"] >= 0


def test_a_tsv_corpus_trains_with_subwords_by_default(corpus, capsys, tmp_path):
    result = run_command(
        ["train", "--preset", "tiny", "--dataset", str(corpus), "--out", str(tmp_path),
         "--vocab-size", "40", "--device", "cpu", "--max-tokens", "256", "--max-steps", "1",
         "--eval-sentences", "2", "--no-progress"]
    )  # fmt: skip
    assert load_checkpoint(tmp_path / "last.pt")["config"]["tokenizer"] == "bpe"
    assert len(result.tokenizers["src"]) == 40


def test_average_writes_the_mean_of_the_weights_and_it_evaluates(run, corpus, capsys, tmp_path):
    paths = [run / "step-2.pt", run / "step-4.pt"]
    average = run_command(["average", "--out", str(tmp_path / "avg.pt"), *map(str, paths)])
    states = [load_checkpoint(path)["model"] for path in paths]
    loaded = load_translator(tmp_path / "avg.pt")
    for name, weight in loaded.model.state_dict().items():
        torch.testing.assert_close(weight, (states[0][name] + states[1][name]) / 2)
    assert loaded.step == 4 and loaded.metrics == {"averaged": list(map(str, paths))}
    assert average.config == loaded.config
    scores = run_command(
        ["evaluate", "--checkpoint", str(tmp_path / "avg.pt"), "--dataset", str(corpus),
         "--split", "valid", "--beam", "1"]
    )  # fmt: skip
    assert scores.num_sentences == 20 and 0 <= scores.bleu <= 100
    capsys.readouterr()
    line = _error(capsys, ["average", "--out", str(tmp_path / "x.pt"), str(tmp_path / "no.pt")])
    assert line == f"error: no checkpoint file at {tmp_path / 'no.pt'}"


def test_a_nan_loss_ends_the_run_with_a_message_and_status_1(run, capsys, monkeypatch):
    loss = helpers.translation.loop.label_smoothed_cross_entropy
    monkeypatch.setattr(
        helpers.translation.loop,
        "label_smoothed_cross_entropy",
        lambda *a, **k: loss(*a, **k) * math.nan,
    )
    before = (run / "last.pt").read_bytes()
    argv = ["train", "--out", str(run), "--resume", "--max-steps", "6", "--no-progress"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    assert "error: the loss is nan at step 5" in capsys.readouterr().err
    assert (run / "last.pt").read_bytes() == before


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "helpers.translation", "train", "--out", "x", "--d-model", "-5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == "error: d_model must be a positive integer; got -5\n"
