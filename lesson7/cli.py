"""`lesson7 <command>`: parse flags into the command's config, then call one library function.

Each command lives in `lesson7/tasks/<name>.py` (`register(subparsers)`). Every command handles
errors the same way: a bad flag value exits 2 with argparse's one-line `error:` naming the
flag; a user error met while running (a missing file, an unusable model) exits 2 with
`lesson7 <command>: error: ...`; so does running out of memory, with a hint to lower the
command's --bs or --tile; a NaN/inf stop exits 1 (the last good checkpoint is kept);
Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lesson7 import __version__
from lesson7.configs.flags import from_flags

TASKS = ("demo", "mnist", "crappify", "restore", "colorize", "gan", "wgan", "numbers", "export",
         "report")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `lesson7` parser; given the command line, only the command it names is built.

    Building a command's flags reads its config's docstrings (~5 ms each), so `lesson7 crappify`
    does not pay for the other commands; `lesson7 --help` and unknown commands get them all.
    """
    parser = argparse.ArgumentParser(
        prog="lesson7",
        description="fastai course-v3 Lesson 7 (ResNet, U-Net, GAN, RNN) in modern PyTorch.")
    parser.add_argument("--version", action="version", version=f"lesson7 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    first = next((a for a in (argv or ()) if not a.startswith("-")), None)
    for name in (first,) if first in TASKS else TASKS:
        importlib.import_module(f"lesson7.tasks.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if next((a for a in argv if not a.startswith("-")), None) == "colorize":
        from lesson7.tasks.colorize import default_subcommand

        argv = default_subcommand(argv)
    args = build_parser(argv).parse_args(argv)
    command = f"lesson7 {args._command}"
    try:
        cfg = from_flags(args._config_cls, args)
    except ValueError as e:
        args._parser.error(str(e))  # exits 2: "usage: ... error: --flag must be ..."
    try:
        return int(args._run(cfg) or 0)
    except FloatingPointError as e:  # NaN/inf: training stopped, the last good epoch is on disk
        print(f"{command}: stopped: {e}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:
        # User mistakes and missing files: a one-line message naming the problem, no traceback.
        print(f"{command}: error: {e}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as e:
        if not _out_of_memory(e):
            raise
        print(f"{command}: error: out of memory ({_first_line(e)}); {_memory_hint(cfg)}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130


def _out_of_memory(e: BaseException) -> bool:
    """MemoryError, torch's (CUDA) OutOfMemoryError, or a CPU allocation torch could not make.
    torch is looked up, not imported: a command that never loaded it cannot have raised its."""
    if isinstance(e, MemoryError):
        return True
    torch = sys.modules.get("torch")
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(getattr(torch, "cuda", None),
                                                              "OutOfMemoryError", None)
    text = str(e)
    return ((oom is not None and isinstance(e, oom)) or "can't allocate memory" in text
            or "not enough memory" in text)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__


def _memory_hint(cfg: object) -> str:
    """Lower whichever of --bs / --tile the command has."""
    flags = [f"--{name} (now {getattr(cfg, name)})" for name in ("bs", "tile") if hasattr(cfg, name)]
    return f"try a smaller {' or '.join(flags)}" if flags else "free memory or use smaller inputs"


if __name__ == "__main__":
    sys.exit(main())
