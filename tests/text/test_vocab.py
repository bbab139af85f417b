"""Tokenizer and vocabulary: the lesson's nv = 38, its token ids and its 13,017 valid tokens."""

from pathlib import Path

import pytest

from lesson7.text.human_numbers import read_split
from lesson7.text.vocab import BOS, SPECIAL_TOKENS, UNK, Vocab, tokenize


@pytest.fixture(scope="module")
def tokens(numbers_dir: Path) -> dict[str, list[str]]:
    return {split: tokenize(read_split(numbers_dir, split)) for split in ("train", "valid")}


def test_tokenize_splits_punctuation_and_adds_bos() -> None:
    assert tokenize("One, two,three") == [BOS, "one", ",", "two", ",", "three"]
    assert tokenize("one  two", add_bos=False) == ["one", "two"]


def test_vocab_matches_the_lesson(tokens: dict[str, list[str]]) -> None:
    vocab = Vocab.build(tokens["train"])
    assert len(vocab) == 38  # the lesson's nv: 8 specials + 30 words (29 + ",")
    assert vocab.itos[:8] == list(SPECIAL_TOKENS)
    assert set(vocab.itos[8:]) == set(tokenize(" ".join(vocab.itos[8:]), add_bos=False))
    # The lesson prints x1[:,0] of the valid set: "xxbos eight thousand one ," = [2, 18, 10, 11, 8],
    # and "twenty" = 20, "ten" = 28 further on.
    assert vocab.numericalize(tokenize("eight thousand one ,")) == [2, 18, 10, 11, 8]
    assert vocab.numericalize(["twenty", "ten"]) == [20, 28]


def test_valid_token_count_and_no_unknowns(tokens: dict[str, list[str]]) -> None:
    vocab = Vocab.build(tokens["train"])
    assert len(tokens["valid"]) == 13_017  # the lesson: len(data.valid_ds[0][0].data)
    assert tokens["valid"][0] == BOS and tokens["valid"].count(BOS) == 1
    assert UNK not in vocab.textify(vocab.numericalize(tokens["valid"])).split()


def test_numericalize_textify_roundtrip_and_unknowns() -> None:
    vocab = Vocab.build(["b", "a", "b", "c", "a", "b"], min_freq=1)
    assert vocab.itos[8:] == ["b", "a", "c"]  # by frequency, ties by first appearance
    ids = vocab.numericalize(["a", "zzz", "c"])
    assert ids == [9, vocab.stoi[UNK], 10]
    assert vocab.textify(ids) == "a xxunk c"
    assert Vocab.build(["b", "a", "b"]).itos[8:] == ["b"]  # fastai's min_freq=2 drops "a"


def test_vocab_json_roundtrip_and_validation() -> None:
    vocab = Vocab.build(["x", "y", "x"], min_freq=1)
    assert Vocab.from_json(vocab.to_json()).itos == vocab.itos
    with pytest.raises(ValueError, match="unique"):
        Vocab(["a", "a"])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(["a"], min_freq=0)
