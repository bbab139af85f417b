"""The generated human-numbers corpus: number -> words, the files, one document per split."""

from pathlib import Path

import pytest

from lesson7.text.human_numbers import (
    ONES,
    TENS,
    default_data_dir,
    make_human_numbers,
    number_to_words,
    read_split,
)


@pytest.mark.parametrize(("n", "words"), [
    (1, "one"),
    (10, "ten"),
    (11, "eleven"),
    (19, "nineteen"),
    (20, "twenty"),
    (21, "twenty one"),
    (99, "ninety nine"),
    (100, "one hundred"),
    (101, "one hundred one"),
    (110, "one hundred ten"),
    (119, "one hundred nineteen"),
    (1000, "one thousand"),
    (1001, "one thousand one"),
    (1010, "one thousand ten"),
    (1100, "one thousand one hundred"),
    (8001, "eight thousand one"),
    (9999, "nine thousand nine hundred ninety nine"),
    (0, "zero"),
    (999_999, "nine hundred ninety nine thousand nine hundred ninety nine"),
])
def test_number_to_words_edge_cases(n: int, words: str) -> None:
    assert number_to_words(n) == words


@pytest.mark.parametrize("bad", [-1, 1_000_000, 1.5, "7", True])
def test_number_to_words_rejects_out_of_range_and_non_ints(bad: object) -> None:
    with pytest.raises(ValueError, match="number_to_words"):
        number_to_words(bad)  # type: ignore[arg-type]


def _words_to_number(text: str) -> int:
    """An independent parser: the inverse of number_to_words on 1..9999."""
    value = {w: i for i, w in enumerate(ONES)} | {w: 10 * i for i, w in enumerate(TENS) if w != "_"}
    total = current = 0
    for word in text.split():
        if word == "thousand":
            total, current = total + current * 1000, 0
        elif word == "hundred":
            current *= 100
        else:
            current += value[word]
    return total + current


def test_every_corpus_number_parses_back_and_uses_the_30_words() -> None:
    words = {number_to_words(n) for n in range(1, 10_000)}
    assert len(words) == 9999  # no two numbers share a spelling
    assert all(_words_to_number(number_to_words(n)) == n for n in range(1, 10_000))
    vocabulary = {w for line in words for w in line.split()}
    assert vocabulary == set(ONES[1:]) | set(TENS[2:]) | {"hundred", "thousand"}  # 29 words
    assert not any("-" in line or " and " in line for line in words)


def test_files_hold_the_lesson_ranges(numbers_dir: Path) -> None:
    train = (numbers_dir / "train.txt").read_text().splitlines()
    valid = (numbers_dir / "valid.txt").read_text().splitlines()
    assert (len(train), train[0], train[-1]) == (8000, "one", "eight thousand")
    assert (len(valid), valid[0], valid[-1]) == (1999, "eight thousand one",
                                                "nine thousand nine hundred ninety nine")


def test_read_split_joins_lines_into_one_document(numbers_dir: Path) -> None:
    train, valid = read_split(numbers_dir, "train"), read_split(numbers_dir, "valid")
    # The lesson prints train_txt[0][:80] and valid_txt[0][-80:]:
    assert train[:80] == ("one, two, three, four, five, six, seven, eight, nine, ten,"
                          " eleven, twelve, thirt")
    assert valid[-80:] == (" nine thousand nine hundred ninety eight,"
                           " nine thousand nine hundred ninety nine")
    assert train.count(", ") == 7999 and "\n" not in train


def test_make_is_idempotent_and_repairs_damaged_files(tmp_path: Path) -> None:
    folder = make_human_numbers(tmp_path / "hn")
    train = folder / "train.txt"
    good = train.read_text()
    stamp = train.stat().st_mtime_ns
    make_human_numbers(folder)
    assert train.stat().st_mtime_ns == stamp  # a correct file is not rewritten
    train.write_text(good[:100])  # truncated, e.g. by an interrupted copy
    make_human_numbers(folder)
    assert train.read_text() == good
    assert sorted(p.name for p in folder.iterdir()) == ["train.txt", "valid.txt"]  # no temp files


def test_read_split_errors_name_the_problem(tmp_path: Path, numbers_dir: Path) -> None:
    with pytest.raises(ValueError, match="'test'"):
        read_split(numbers_dir, "test")
    with pytest.raises(FileNotFoundError, match="train.txt"):
        read_split(tmp_path, "train")


def test_default_data_dir_follows_the_data_dir_rule(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    # The corpus lives in lesson7.data.datasets.default_data_dir(): LESSON7_DATA, XDG, ~/.cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "data"))
    assert default_data_dir() == tmp_path / "data" / "human_numbers"
    monkeypatch.delenv("LESSON7_DATA")
    assert default_data_dir() == tmp_path / "xdg" / "lesson7" / "human_numbers"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir() == Path.home() / ".cache" / "lesson7" / "human_numbers"
