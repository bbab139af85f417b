"""Language-model batches: a token stream cut into ``bs`` contiguous rows, read ``bptt`` at a time.

Scope: the loader (``LMLoader``), the data bunch the Learner consumes (``LMDataBunch``) and the
human-numbers bunch (``human_numbers_databunch``). Models and training live elsewhere.

Layout (fastai v1 ``LanguageModelLoader``, 1.0.37)::

    stream  t0 t1 t2 ... t(N-1)            N tokens; the last N mod bs are dropped
    rows    row r = t[r*n : (r+1)*n]        n = N // bs tokens per row -> a (bs, n) grid
    batch k x = grid[:, i : i+seq]          (bs, seq); i = sum of the earlier seq lengths
            y = grid[:, i+1 : i+1+seq]      x shifted by one token

Batch k of each row continues batch k-1 of the same row, so a hidden state carried from one
batch to the next (Model3-5, the LSTM) keeps reading the same text. The last batch may be
shorter (``n - 1`` positions per row are covered in all).

Randomised bptt (``random_bptt=True``, training only), fastai 1.0.37's rule: each batch draws
``b = bptt`` with probability ``p_bptt`` else ``bptt / 2``, then
``seq = min(max(5, int(normal(b, 5))), bptt + max_len)``. The lesson's Model0/1 call
``databunch(bptt=3, max_len=0, p_bptt=1.)``, which this rule turns into a constant 3.
Differences from fastai, on purpose:

- the draws come from a generator seeded by ``(seed, epoch)`` and are fixed before the epoch
  starts, so ``len()`` is exact and runs are reproducible (``set_epoch`` picks the epoch);
- fastai makes the very first batch ``bptt + max_len`` long to pre-size the CUDA cache; not
  needed with PyTorch's caching allocator, so we don't;
- the validation loader is never randomised (fastai 1.0.37 randomised it too): fixed batches,
  fixed order, so validation numbers are comparable between epochs and runs.

There is nothing to shuffle: each split is one document, read in order (fastai shuffles the
order of documents, of which there is one).

Refs: fastai v1 ``fastai/text/data.py`` (``LanguageModelLoader``; later ``LanguageModelPreLoader``,
which wraps around instead of dropping the tail); Merity et al. 2017, "Regularizing and
Optimizing LSTM Language Models" (arXiv:1708.02182), §4.1 variable-length BPTT.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lesson7.text.human_numbers import make_human_numbers, read_split
from lesson7.text.vocab import Vocab, tokenize

__all__ = ["LMLoader", "LMDataBunch", "SPLITS", "human_numbers_databunch"]


class LMLoader:
    """``(x, y)`` LongTensors ``(bs, seq)`` over one token stream; ``y`` is ``x`` shifted by one.

    Args:
        tokens: the token ids of the whole stream.
        bs: number of contiguous rows (the batch size).
        bptt: tokens per batch (back-propagation through time length).
        random_bptt: draw each batch's length with fastai's rule (see the module docstring).
        p_bptt: with ``random_bptt``, the chance of centring a draw on ``bptt`` (else ``bptt/2``).
        max_len: with ``random_bptt``, a batch is at most ``bptt + max_len`` long.
        seed: seeds the random lengths, together with the epoch number.
    """

    def __init__(self, tokens: Sequence[int] | Tensor | np.ndarray, bs: int = 64, bptt: int = 70,
                 random_bptt: bool = False, p_bptt: float = 0.95, max_len: int = 25, seed: int = 0):
        if bs < 1:
            raise ValueError(f"bs must be >= 1, got {bs}")
        if bptt < 1:
            raise ValueError(f"bptt must be >= 1, got {bptt}")
        if not 0.0 <= p_bptt <= 1.0:
            raise ValueError(f"p_bptt must be in [0, 1], got {p_bptt}")
        if max_len < 0:
            raise ValueError(f"max_len must be >= 0, got {max_len}")
        stream = torch.as_tensor(np.asarray(tokens), dtype=torch.long).flatten()
        n = stream.numel() // bs  # tokens per row
        if n < 2:
            raise ValueError(f"{stream.numel()} tokens are too few for bs={bs} (2 per row)")
        self.grid = stream[: n * bs].view(bs, n)  # (bs, n): row r holds stream[r*n:(r+1)*n]
        self.bs, self.bptt = bs, bptt
        self.random_bptt, self.p_bptt, self.max_len, self.seed = random_bptt, p_bptt, max_len, seed
        self.epoch = 0
        self._lengths = self._plan(self.epoch)

    @property
    def positions(self) -> int:
        """Positions per row that get a target: ``n - 1``."""
        return self.grid.shape[1] - 1

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose random lengths the next pass uses (no effect with fixed bptt)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._lengths = self._plan(epoch)

    def _plan(self, epoch: int) -> list[int]:
        """The sequence length of every batch of one pass."""
        total = self.positions
        if not self.random_bptt:
            return [min(self.bptt, total - i) for i in range(0, total, self.bptt)]
        rng = np.random.default_rng([self.seed, epoch])
        lengths, covered = [], 0
        while covered < total:
            centre = self.bptt if rng.random() < self.p_bptt else self.bptt / 2
            seq = min(max(5, int(rng.normal(centre, 5))), self.bptt + self.max_len)
            seq = min(seq, total - covered)  # the last batch takes what is left
            lengths.append(seq)
            covered += seq
        return lengths

    def __len__(self) -> int:
        return len(self._lengths)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        i = 0
        for seq in self._lengths:
            x = self.grid[:, i : i + seq]          # (bs, seq)
            y = self.grid[:, i + 1 : i + 1 + seq]  # (bs, seq): the next token of each x
            yield x, y
            i += seq

    def to(self, device: torch.device | str) -> LMLoader:
        """Keep the token grid on ``device``: batches are then slices, with no copy per batch."""
        self.grid = self.grid.to(device)
        return self

    @property
    def n_tokens(self) -> int:
        """Tokens in the grid (the stream minus the dropped tail)."""
        return self.grid.numel()

    def __repr__(self) -> str:
        mode = f"random bptt~{self.bptt}" if self.random_bptt else f"bptt={self.bptt}"
        return f"LMLoader(bs={self.bs}, {mode}, {len(self)} batches, {self.n_tokens} tokens)"


@dataclass
class LMDataBunch:
    """What the Learner trains on: ``train_dl`` and ``valid_dl`` of ``(x, y)``, and ``vocab``."""

    train_dl: LMLoader
    valid_dl: LMLoader
    vocab: Vocab

    @property
    def c(self) -> int:
        """Number of classes = vocabulary size (the ``nv`` of the lesson)."""
        return len(self.vocab)

    def to(self, device: torch.device | str) -> LMDataBunch:
        """Move both token grids to ``device`` once (the Learner calls this)."""
        self.train_dl.to(device)
        self.valid_dl.to(device)
        return self

    def one_batch(self, valid: bool = False) -> tuple[Tensor, Tensor]:
        return next(iter(self.valid_dl if valid else self.train_dl))


SPLITS = ("lesson", "fastbook")


def human_numbers_databunch(path: str | Path | None = None, bs: int = 64, bptt: int = 70,
                            random_bptt: bool = False, p_bptt: float = 0.95, max_len: int = 25,
                            seed: int = 0, split: str = "lesson") -> LMDataBunch:
    """The human-numbers data: write (if needed) and read the corpus; vocab from train; batch both.

    ``split="lesson"`` (course-v3): train is ``train.txt`` (1..8000), valid ``valid.txt``
    (8001..9999), each one document whose lines are joined with ", ". ``split="fastbook"``
    (fastbook ``12_nlp_dive``): all 9,999 lines joined with " . " into one stream, cut into
    ``bptt``-token sequences, the first 80% of them train and the rest valid -- the cut falls
    near 8081, so its training text has already seen "eight thousand ..." continuations, which
    the lesson's split never shows.
    ``path`` defaults to ``lesson7.text.human_numbers.default_data_dir()``. ``random_bptt`` applies
    to training only; validation always uses a fixed ``bptt``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = make_human_numbers(path)
    if split == "lesson":
        train_tokens = tokenize(read_split(folder, "train"))
        valid_tokens = tokenize(read_split(folder, "valid"))
    else:
        lines = [line.strip() for name in ("train.txt", "valid.txt")
                 for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        tokens = " . ".join(lines).split(" ")
        n_seqs = (len(tokens) - 1) // bptt      # fastbook: range(0, len(nums) - sl - 1, sl)
        cut = int(n_seqs * 0.8) * bptt          # first 80% of the sequences train
        train_tokens, valid_tokens = tokens[: cut + 1], tokens[cut:]  # +1: the last target
    vocab = Vocab.build(train_tokens)
    train_dl = LMLoader(vocab.numericalize(train_tokens), bs=bs, bptt=bptt, random_bptt=random_bptt,
                        p_bptt=p_bptt, max_len=max_len, seed=seed)
    valid_dl = LMLoader(vocab.numericalize(valid_tokens), bs=bs, bptt=bptt)
    return LMDataBunch(train_dl, valid_dl, vocab)
