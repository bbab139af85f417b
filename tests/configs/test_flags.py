"""Flags generated from config dataclasses: types, booleans, lists, positionals, help, errors."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from lesson7.configs.flags import add_flags, check_device, flag, flag_name, from_flags


@dataclass(kw_only=True)
class Toy:
    """A toy config."""

    src: Path = flag(positional=True)
    """Where from."""
    files: list[Path] = flag(default_factory=list)
    """Extra files."""
    sizes: list[int] = flag(default_factory=lambda: [128], sep=",")
    """Sizes in turn."""
    pair: tuple[float, float] = flag((1.0, 2.0), sep=",")
    """Two weights."""
    quality: tuple[int, int] | None = flag(None)
    """A range."""
    lr: float = flag(1e-3)
    """Learning rate."""
    bs: int | None = flag(None)
    """Batch size."""
    fast: bool = flag(False)
    """Go fast."""
    text: bool = flag(True)
    """Stamp text."""
    mode: str = flag("a", choices=("a", "b"))
    """Mode: a keeps 80% of the data."""
    native: bool = flag(False, name="native-crops")
    """Renamed flag."""
    hidden: int = flag(3, cli=False)
    """Not on the command line."""

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")


def parse(argv: list[str]) -> Toy:
    parser = add_flags(argparse.ArgumentParser(prog="toy"), Toy)
    return from_flags(Toy, parser.parse_args(argv))


def test_defaults_come_from_the_dataclass():
    assert parse(["x"]) == Toy(src=Path("x"))


def test_each_kind_of_field():
    cfg = parse(["x", "--files", "a", "b", "--sizes", "64,128", "--pair", "0,50", "--quality",
                 "10", "70", "--lr", "3e-4", "--bs", "8", "--fast", "--no-text", "--mode", "b",
                 "--native-crops"])
    assert cfg.files == [Path("a"), Path("b")] and cfg.sizes == [64, 128]
    assert cfg.pair == (0.0, 50.0) and cfg.quality == (10, 70)
    assert (cfg.lr, cfg.bs, cfg.fast, cfg.text, cfg.mode, cfg.native) == (3e-4, 8, True, False, "b", True)
    assert flag_name(Toy, "native") == "--native-crops" and flag_name(Toy, "src") == "src"


@pytest.mark.parametrize("argv, named", [
    (["x", "--lr", "nan"], "--lr"), (["x", "--lr", "inf"], "--lr"), (["x", "--lr", "abc"], "--lr"),
    (["x", "--bs", "1.5"], "--bs"), (["x", "--mode", "c"], "--mode"), (["x", "--sizes", ","], "--sizes"),
    (["x", "--hidden", "4"], "unrecognized"), ([], "src"),
])
def test_bad_values_exit_2_naming_the_flag(argv, named, capsys):
    with pytest.raises(SystemExit) as e:
        parse(argv)
    assert e.value.code == 2
    assert named in capsys.readouterr().err


def test_post_init_errors_reach_the_caller():
    with pytest.raises(ValueError, match="--lr must be > 0"):
        parse(["x", "--lr", "-1"])


def test_help_is_the_attribute_docstring(capsys):
    parser = add_flags(argparse.ArgumentParser(prog="toy"), Toy)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    assert "Sizes in turn. (default: 128)" in out and "Renamed flag." in out
    assert "--no-text" in out and "--hidden" not in out
    assert "keeps 80% of the data" in out  # a literal % survives argparse's %-formatting


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_check_device_accepts(device):
    check_device(device)


@pytest.mark.parametrize("device", ["potato", "cuda:", "gpu", ""])
def test_check_device_refuses(device):
    with pytest.raises(ValueError, match="--device"):
        check_device(device)
