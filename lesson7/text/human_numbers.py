"""The "human numbers" corpus: the integers written as English words, generated locally.

Scope: number -> words, writing ``train.txt`` (1..8000) and ``valid.txt`` (8001..9999) into a
data folder, and reading each split back as one document. Tokenising lives in
``lesson7.text.vocab``; batching in ``lesson7.text.lm_loader``.

The content is identical to fastai's ``URLs.HUMAN_NUMBERS`` archive: lowercase words, no
hyphens and no "and" ("twenty one", "one hundred one", "eight thousand one"), one number per
line. Generating it replaces fastai's download.

Refs: fastai course-v3 ``nbs/dl1/lesson7-human-numbers.ipynb`` (``readnums``: the lines of a
split joined with ", ").
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lesson7.data.datasets import default_data_dir as data_root

__all__ = [
    "ONES",
    "TENS",
    "TRAIN_RANGE",
    "VALID_RANGE",
    "default_data_dir",
    "number_to_words",
    "make_human_numbers",
    "read_split",
]

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

TRAIN_RANGE = range(1, 8001)  # train.txt: "one" .. "eight thousand"
VALID_RANGE = range(8001, 10000)  # valid.txt: "eight thousand one" .. 9999

_MAX = 999_999


def _below_thousand(n: int) -> list[str]:
    """Words for 1 <= n <= 999 (empty for 0, so "one thousand" has no trailing "zero")."""
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(TENS[tens])
        if ones:
            words.append(ONES[ones])
    elif rest:
        words.append(ONES[rest])
    return words


def number_to_words(n: int) -> str:
    """English words for ``n`` as in the lesson's corpus: ``1100 -> "one thousand one hundred"``.

    Covers 0..999,999; 0 is "zero" (not part of the corpus).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"number_to_words needs an int, got {n!r}")
    if not 0 <= n <= _MAX:
        raise ValueError(f"number_to_words covers 0..{_MAX}, got {n}")
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    words = (_below_thousand(thousands) + ["thousand"]) if thousands else []
    return " ".join(words + _below_thousand(rest))


def default_data_dir() -> Path:
    """``human_numbers/`` in the data dir of ``lesson7.data.datasets.default_data_dir``
    (``$LESSON7_DATA``, else ``$XDG_CACHE_HOME/lesson7``, else ``~/.cache/lesson7``)."""
    return data_root() / "human_numbers"


def _split_text(numbers: range) -> str:
    return "".join(number_to_words(i) + "\n" for i in numbers)


def _write_atomic(path: Path, text: str) -> None:
    # Write to a temporary file in the same folder, then rename: a reader never sees half a file,
    # and two processes generating at once both end with a complete file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_human_numbers(path: str | Path | None = None) -> Path:
    """Write ``train.txt`` and ``valid.txt`` into ``path`` (default: ``default_data_dir()``).

    A file that already holds exactly the expected text is left alone; anything else (missing,
    truncated, edited) is rewritten atomically. Returns the folder.
    """
    folder = Path(path).expanduser() if path is not None else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, numbers in (("train.txt", TRAIN_RANGE), ("valid.txt", VALID_RANGE)):
        target, text = folder / name, _split_text(numbers)
        if not (target.is_file() and target.read_text(encoding="utf-8") == text):
            _write_atomic(target, text)
    return folder


def read_split(path: str | Path, split: str) -> str:
    """One split as one document: lines stripped, joined with ", " (the lesson's ``readnums``)."""
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    file = Path(path) / f"{split}.txt"
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found; write it with make_human_numbers()")
    lines = file.read_text(encoding="utf-8").splitlines()
    return ", ".join(line.strip() for line in lines if line.strip())
