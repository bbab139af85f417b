"""Text for language models: the human-numbers corpus, tokenizer + vocabulary, and LM batches."""

from lesson7.text.human_numbers import (
    default_data_dir,
    make_human_numbers,
    number_to_words,
    read_split,
)
from lesson7.text.lm_loader import LMDataBunch, LMLoader, human_numbers_databunch
from lesson7.text.vocab import SPECIAL_TOKENS, Vocab, tokenize

__all__ = [
    "SPECIAL_TOKENS",
    "LMDataBunch",
    "LMLoader",
    "Vocab",
    "default_data_dir",
    "human_numbers_databunch",
    "make_human_numbers",
    "number_to_words",
    "read_split",
    "tokenize",
]
