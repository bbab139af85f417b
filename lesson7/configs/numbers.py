"""`lesson7 numbers`: the human-numbers RNNs (`lesson7-human-numbers.ipynb`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig
from lesson7.configs.flags import check_positive, flag

MODELS = ("0", "1", "2", "3", "4", "5", "lstm")
"""Model0..Model5 of the lesson, and fastbook's LMModel7 (an LSTM)."""
SPLITS = ("lesson", "fastbook")


@dataclass(kw_only=True)
class NumbersConfig(RunConfig):
    """Train one human-numbers model (or all, `--all`) with the lesson's recipe."""

    model: str | None = flag(None, choices=MODELS)
    """0-5: the lesson's Model0..Model5; lstm: fastbook's LMModel7."""
    all: bool = flag(False)
    """Run every model in the lesson's order and print ours next to the recorded accuracy."""
    epochs: int | None = flag(None)
    """Epochs (default: the lesson's)."""
    lr: float | None = flag(None)
    """Peak one-cycle LR (default: the lesson's)."""
    bs: int = flag(64)
    """Batch size = contiguous rows."""
    bptt: int | None = flag(None)
    """Tokens per batch (default: the lesson's)."""
    random_bptt: bool = flag(False)
    """fastai's randomised bptt for training batches (validation stays fixed)."""
    split: str = flag("lesson", choices=SPLITS)
    """lesson: train 1..8000 / valid 8001..9999; fastbook: the first 80% of the bptt-token
    sequences of 1..9999 train, the rest valid."""
    data_dir: Path | None = flag(None)
    """Corpus folder (default: human_numbers in the data dir); written if missing."""
    out: Path = flag(Path("runs/numbers"))
    """Run folder: config, metrics, plots, checkpoints."""
    seed: int = flag(0)
    """Random seed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.model is None) == (not self.all):
            raise ValueError("give --model NAME or --all (one of them)")
        if self.model is not None and self.model not in MODELS:
            raise ValueError(f"--model must be one of {list(MODELS)}, got {self.model!r}")
        if self.split not in SPLITS:
            raise ValueError(f"--split must be one of {list(SPLITS)}, got {self.split!r}")
        check_positive(epochs=self.epochs, lr=self.lr, bs=self.bs, bptt=self.bptt)
        if self.bptt is not None and self.bptt > 3 and (self.model == "0" or self.all):
            raise ValueError(f"--bptt must be 1..3 for --model 0 (three words by hand), got {self.bptt}")
