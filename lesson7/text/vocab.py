"""Tokenize text into words and punctuation, and map tokens to ids with a ``Vocab``.

Scope: the small word-level tokenizer the human-numbers corpus needs (lowercase words; each
punctuation mark its own token; a beginning-of-stream token in front) and a fastai-v1-style
vocabulary. No spaCy, no casing rules: the corpus is all lowercase, so fastai's ``xxmaj`` /
``xxup`` / ``xxrep`` rules never fire; their tokens are still reserved so ids match the lesson.

Special tokens (ids 0-7), the fastai v1 list of the lesson's era
(``defaults.text_spec_tok = [UNK,PAD,BOS,FLD,TK_MAJ,TK_UP,TK_REP,TK_WREP]``, fastai ≈1.0.37-1.0.4x):

=========  ==  ==========================================================
``xxunk``   0  a token not in the vocabulary
``xxpad``   1  padding (unused by language models: streams are not padded)
``xxbos``   2  beginning of stream: starts each document
``xxfld``   3  field separator (fastai ``mark_fields``; unused here)
``xxmaj``   4  next word was capitalised (fastai rule; unused here)
``xxup``    5  next word was all caps (unused here)
``xxrep``   6  character repetition (unused here)
``xxwrep``  7  word repetition (unused here)
=========  ==  ==========================================================

Later v1 releases inserted ``xxeos`` after ``xxbos`` (9 specials); we keep the 8 the lesson
ran with, which gives its ``nv = 38`` (8 specials + 30 words) and its ids: the lesson prints
"xxbos eight thousand one ," as ``[2, 18, 10, 11, 8]``.

Refs: fastai v1 ``fastai/text/transform.py`` (``Vocab.create``: most common first, ``min_freq``,
specials moved to the front); course-v3 ``lesson7-human-numbers.ipynb`` (``nv = 38``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = ["UNK", "PAD", "BOS", "FLD", "SPECIAL_TOKENS", "tokenize", "Vocab"]

UNK, PAD, BOS, FLD = "xxunk", "xxpad", "xxbos", "xxfld"
TK_MAJ, TK_UP, TK_REP, TK_WREP = "xxmaj", "xxup", "xxrep", "xxwrep"
SPECIAL_TOKENS: tuple[str, ...] = (UNK, PAD, BOS, FLD, TK_MAJ, TK_UP, TK_REP, TK_WREP)

_TOKEN = re.compile(r"\w+|[^\w\s]")  # a run of word characters, or one punctuation mark


def tokenize(text: str, add_bos: bool = True) -> list[str]:
    """Lowercase words and single punctuation marks: ``"one, two"`` -> ``xxbos one , two``."""
    tokens = _TOKEN.findall(text.lower())
    return [BOS, *tokens] if add_bos else tokens


class Vocab:
    """Token <-> id map; ``itos[i]`` is the token of id ``i``, ``stoi`` the reverse."""

    def __init__(self, itos: Sequence[str]):
        if len(set(itos)) != len(itos):
            raise ValueError("Vocab tokens must be unique")
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        self.unk_id = self.stoi.get(UNK)

    @classmethod
    def build(cls, tokens: Iterable[str], min_freq: int = 2, max_vocab: int = 60_000,
              specials: Sequence[str] = SPECIAL_TOKENS) -> Vocab:
        """Most frequent tokens first (ties: first seen), ``specials`` in front, as fastai v1.

        fastai's defaults (``min_freq=2``, ``max_vocab=60000``) drop nothing on this corpus.
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(tokens)
        common = counts.most_common(max_vocab)
        words = [tok for tok, c in common if c >= min_freq and tok not in specials]
        return cls([*specials, *words])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def numericalize(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown ones map to ``xxunk`` (``KeyError`` if the vocab has none)."""
        if self.unk_id is None:
            return [self.stoi[t] for t in tokens]
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def textify(self, ids: Iterable[int], sep: str = " ") -> str:
        """Tokens of ``ids`` joined by ``sep`` (accepts a list or a 1-d tensor)."""
        return sep.join(self.itos[int(i)] for i in ids)

    def to_json(self) -> dict[str, list[str]]:
        """A JSON-able form, e.g. for a checkpoint's metadata."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_json(cls, obj: dict[str, list[str]]) -> Vocab:
        return cls(obj["itos"])

    def __repr__(self) -> str:
        more = " ..." if len(self) > 12 else ""
        return f"Vocab({len(self)} tokens: {' '.join(self.itos[:12])}{more})"
