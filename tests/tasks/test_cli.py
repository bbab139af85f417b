"""Every subcommand handles flags the same way: --device, bad numbers, exit code 2, one line."""

from __future__ import annotations

import argparse

import pytest

from lesson7.cli import build_parser, main


def leaf_commands() -> list[tuple[str, ...]]:
    """('mnist',), ('restore', 'train'), ...: every command that runs something."""
    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path
        for action in subs:
            for name, child in action.choices.items():
                yield from walk(child, path + (name,))
    return list(walk(build_parser(), ()))


@pytest.fixture
def required_args(tmp_path):
    """Valid values for each command's required arguments."""
    for d in ("a", "b", "run"):
        (tmp_path / d).mkdir()
    a, b, run = (str(tmp_path / d) for d in ("a", "b", "run"))
    return {
        ("demo",): [], ("mnist",): [], ("numbers",): ["--model", "5"],
        ("crappify",): [a, b], ("wgan",): ["--data", a],
        ("restore", "train"): ["--hr", a, "--degrade", "bicubic-x4"],
        ("restore", "predict"): [run, a, "--out", b], ("restore", "eval"): [run, "--hr", a],
        ("gan", "critic"): ["--fake", a, "--real", b],
        ("gan", "train"): ["--generator", run, "--critic", run],
        ("gan", "restore"): ["--hr", a], ("gan", "compare"): ["--before", run, "--after", run, "--hr", a],
        ("export",): [run, "--onnx", str(tmp_path / "m.onnx")], ("report",): [run],
        ("colorize", "predict"): [a, "--out", b], ("colorize", "train"): ["--hr", a],
        ("colorize", "eval"): [run, "--hr", a], ("ui",): [],
    }


def test_every_command_is_covered(required_args):
    assert set(leaf_commands()) == set(required_args)


@pytest.mark.parametrize("command", leaf_commands())
def test_bad_device_exits_2_naming_the_flag(command, required_args, capsys):
    if command in (("crappify",), ("export",), ("report",)):
        pytest.skip(f"{command[0]} runs on the CPU only: it has no --device")
    with pytest.raises(SystemExit) as e:
        main([*command, *required_args[command], "--device", "potato"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"lesson7 {' '.join(command)}: error: --device") or \
        "--device must be" in err[-1], err


@pytest.mark.parametrize("command", leaf_commands())
def test_help_works_for_every_command(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0
    assert "usage: lesson7" in capsys.readouterr().out


@pytest.mark.parametrize("command, flag", [
    (("mnist",), "--lr"), (("numbers",), "--lr"), (("wgan",), "--lr"),
    (("restore", "train"), "--lr"), (("gan", "critic"), "--lr"), (("gan", "restore"), "--gan-lr"),
    (("restore", "predict"), "--scale"),
])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_non_finite_or_negative_numbers_exit_2(command, flag, value, required_args, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command, *required_args[command], flag, value])
    assert e.value.code == 2
    assert flag in capsys.readouterr().err


def test_runtime_user_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    rc = main(["restore", "predict", str(tmp_path / "norun"), str(tmp_path / "in"), "--out",
               str(tmp_path / "out")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lesson7 restore predict: error: ")
