"""The language-model loader: contiguous rows, continuity across batches, y = x shifted by one."""

import math
from pathlib import Path

import pytest
import torch

from lesson7.text.lm_loader import LMLoader, human_numbers_databunch


def _cat(dl: LMLoader) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*dl, strict=True)
    return torch.cat(xs, dim=1), torch.cat(ys, dim=1)


@pytest.mark.parametrize(("n_tokens", "bs", "bptt"), [(1000, 8, 7), (103, 4, 5), (64, 2, 40)])
def test_rows_are_contiguous_and_batches_continue(n_tokens: int, bs: int, bptt: int) -> None:
    stream = torch.arange(n_tokens)
    dl = LMLoader(stream, bs=bs, bptt=bptt)
    n = n_tokens // bs
    x, y = _cat(dl)  # every batch of each row, side by side
    for r in range(bs):
        assert torch.equal(x[r], stream[r * n : r * n + n - 1])  # row r = a contiguous slice
        assert torch.equal(y[r], stream[r * n + 1 : r * n + n])  # y = x shifted by one
    batches = list(dl)
    assert len(batches) == len(dl) == math.ceil((n - 1) / bptt)
    assert all(xb.shape == yb.shape == (bs, bptt) for xb, yb in batches[:-1])
    assert 1 <= batches[-1][0].shape[1] <= bptt  # the last batch may be shorter
    for (x0, y0), (x1, _) in zip(batches, batches[1:], strict=False):
        assert torch.equal(x0[:, 1:], y0[:, :-1])
        assert torch.equal(y0[:, -1], x1[:, 0])  # batch k continues batch k-1


def test_random_bptt_follows_fastai_rule_and_is_reproducible() -> None:
    dl = LMLoader(torch.arange(20_000), bs=4, bptt=20, random_bptt=True, max_len=10, seed=3)
    lengths = [xb.shape[1] for xb, _ in dl]
    assert len(lengths) == len(dl)
    assert sum(lengths) == 20_000 // 4 - 1  # still every position, once
    assert max(lengths) <= 30 and min(lengths[:-1]) >= 5
    assert len(set(lengths)) > 5  # lengths do vary
    assert any(l < 15 for l in lengths[:-1])  # the bptt/2 branch (p = 0.05) fires in ~250 draws
    again = LMLoader(torch.arange(20_000), bs=4, bptt=20, random_bptt=True, max_len=10, seed=3)
    assert [xb.shape[1] for xb, _ in again] == lengths
    again.set_epoch(1)
    assert [xb.shape[1] for xb, _ in again] != lengths
    x, y = _cat(again)
    assert torch.equal(x[:, 1:], y[:, :-1])  # random lengths keep the layout


def test_lesson_setting_bptt3_maxlen0_is_constant() -> None:
    # The lesson's Model0/1 data: databunch(bptt=3, max_len=0, p_bptt=1.)
    dl = LMLoader(torch.arange(3000), bs=8, bptt=3, random_bptt=True, max_len=0, p_bptt=1.0)
    assert {xb.shape[1] for xb, _ in list(dl)[:-1]} == {3}


def test_human_numbers_valid_batches_match_the_lesson(numbers_dir: Path) -> None:
    data = human_numbers_databunch(numbers_dir, bs=64, bptt=70)
    assert len(data.valid_dl) == 3 and data.c == 38  # the lesson: (bptt, len(valid_dl)) = (70, 3)
    x1, x2, x3 = (xb for xb, _ in data.valid_dl)
    assert x1.numel() + x2.numel() + x3.numel() == 12_928  # the lesson's x1+x2+x3 numel
    assert x1.dtype == torch.long
    text0, text1 = data.vocab.textify(x1[0]), data.vocab.textify(x1[1])
    assert text0.startswith("xxbos eight thousand one , eight thousand two")
    assert text1.startswith(", eight thousand forty six , eight thousand forty seven")  # row 1


def test_validation_is_never_randomised(numbers_dir: Path) -> None:
    data = human_numbers_databunch(numbers_dir, bs=16, bptt=20, random_bptt=True, seed=1)
    assert data.train_dl.random_bptt and not data.valid_dl.random_bptt
    first = [xb for xb, _ in data.valid_dl]
    data.valid_dl.set_epoch(5)
    again = [xb for xb, _ in data.valid_dl]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


@pytest.mark.parametrize(("kwargs", "flag"), [
    ({"bs": 0}, "bs"), ({"bptt": 0}, "bptt"),
    ({"p_bptt": 1.5}, "p_bptt"), ({"max_len": -1}, "max_len"),
])
def test_bad_settings_raise_naming_the_argument(kwargs: dict, flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        LMLoader(torch.arange(100), **kwargs)


def test_too_short_a_stream_is_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        LMLoader(torch.arange(10), bs=8, bptt=3)



def test_to_moves_the_token_grid_once_and_batches_follow(numbers_dir: Path) -> None:
    data = human_numbers_databunch(numbers_dir, bs=64, bptt=20).to("meta")  # a device with no data
    for dl in (data.train_dl, data.valid_dl):
        x, y = next(iter(dl))
        assert x.device.type == y.device.type == "meta" and x.shape == (64, 20)


def test_fastbook_split_is_80_percent_of_the_sequences_of_one_stream(numbers_dir: Path) -> None:
    data = human_numbers_databunch(numbers_dir, bs=64, bptt=16, split="fastbook")
    train = data.vocab.textify(data.train_dl.grid[0][:8])
    assert train == "one . two . three . four ."  # " . "-joined, no xxbos
    n_tokens = data.train_dl.n_tokens + data.valid_dl.n_tokens
    assert 0.78 < data.train_dl.n_tokens / n_tokens < 0.82
    # the valid stream continues the train stream near 8081 (fastbook's cut), not at 8001
    first_valid = data.vocab.textify(data.valid_dl.grid[0][:12])
    assert "eight thousand eighty" in first_valid or "eight thousand seventy" in first_valid


def test_unknown_split_is_rejected_by_name(numbers_dir: Path) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        human_numbers_databunch(numbers_dir, split="imdb")
