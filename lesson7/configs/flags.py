"""Command-line flags generated from a config dataclass: one field, one flag.

The dataclass is the single source of every default and check: `add_flags(parser, Config)` turns
its fields into argparse flags (help text from the field's attribute docstring, as litgpt's and
tyro's CLIs do), and `from_flags(Config, namespace)` builds the config, whose `__post_init__`
validates it with errors that name the flag. Field types map to flags as follows:

    int, float, str, Path (or `X | None`)  ->  --name VALUE         (floats must be finite)
    bool                                   ->  --name / --no-name
    list[X] / tuple[X, ...]                ->  --name V [V ...], or "V,V" with `sep=","`
    positional=True                        ->  a positional argument

This module imports neither torch nor the pipelines, so `lesson7 ... --help` stays instant.
We write this by hand rather than use tyro or jsonargparse to keep the published flag syntax
(`--weights-gen 1,50`, `--size 128,256`) and argparse's one-line `error:` shape for every command.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import math
import re
import textwrap
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["flag", "add_flags", "from_flags", "flag_name", "check_device", "check_positive",
           "check_at_least", "check_fraction", "finite_float"]

_MISSING = dataclasses.MISSING


def flag(default: Any = _MISSING, *, default_factory: Any = _MISSING, name: str | None = None,
         choices: tuple[str, ...] | None = None, positional: bool = False, sep: str | None = None,
         metavar: str | None = None, cli: bool = True) -> Any:
    """A dataclass field with command-line options (all optional).

    Args:
        name: the flag's name when it is not the field's (e.g. "native-crops").
        choices: the accepted values.
        positional: a positional argument instead of a --flag.
        sep: list fields take one "a,b,c" value split on `sep` instead of several values.
        cli: False keeps the field out of the command line (set from Python only).
    """
    meta = {"name": name, "choices": choices, "positional": positional, "sep": sep,
            "metavar": metavar, "cli": cli}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag_name(cls: type, field_name: str) -> str:
    """How `field_name` of `cls` is spelled on the command line ("--bs", "checkpoint")."""
    f = {f.name: f for f in dataclasses.fields(cls)}[field_name]
    name = f.metadata.get("name") or field_name.replace("_", "-")
    return name if f.metadata.get("positional") else f"--{name}"


# -- value parsers (argparse `type=`): errors become "argument --x: invalid ..." ----------------
def finite_float(text: str) -> float:
    """A float that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


_SCALARS: dict[Any, Any] = {int: _int, float: finite_float, str: str, Path: Path}


def _split(convert: Any, sep: str) -> Any:
    def parse(text: str) -> list[Any]:
        values = [convert(v.strip()) for v in str(text).split(sep) if v.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"expected values separated by {sep!r}, got {text!r}")
        return values
    return parse


# -- docstrings as help ------------------------------------------------------------------------
@cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """{field: the string literal written just below it} for `cls` and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, nxt in zip(body, body[1:], strict=False):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def add_flags(parser: argparse.ArgumentParser, cls: type) -> argparse.ArgumentParser:
    """Add one flag per field of the dataclass `cls` to `parser`; remembers `cls` for from_flags."""
    hints = typing.get_type_hints(cls)
    docs = _attribute_docs(cls)
    for f in dataclasses.fields(cls):
        if not f.init or not f.metadata.get("cli", True):
            continue
        meta = f.metadata
        tp = _unwrap_optional(hints[f.name])
        default = (f.default if f.default is not _MISSING
                   else f.default_factory() if f.default_factory is not _MISSING else None)
        required = f.default is _MISSING and f.default_factory is _MISSING
        help_text = docs.get(f.name, "")
        if not required and default is not None and not isinstance(default, bool):
            shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else default
            help_text = f"{help_text} (default: {shown})".strip()
        # argparse expands %-formats in help: a literal % must be doubled
        kw: dict[str, Any] = {"help": help_text.replace("%", "%%") or None, "dest": f.name}
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        if meta.get("metavar"):
            kw["metavar"] = meta["metavar"]
        origin = typing.get_origin(tp)
        if tp is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif origin in (list, tuple):
            item = typing.get_args(tp)[0]
            convert = _SCALARS.get(item, item)
            if meta.get("sep"):
                kw["type"] = _split(convert, meta["sep"])
            else:
                args = typing.get_args(tp)
                fixed = origin is tuple and len(args) > 1 and args[1] is not Ellipsis
                kw["type"], kw["nargs"] = convert, (len(args) if fixed else "+")
        else:
            kw["type"] = _SCALARS.get(tp, tp)
        if meta.get("positional"):
            kw.pop("dest")
            if not required:
                kw["nargs"] = kw.get("nargs") or "?"
            parser.add_argument(f.name, default=argparse.SUPPRESS if required else default, **kw)
        else:
            parser.add_argument(flag_name(cls, f.name), required=required,
                                default=argparse.SUPPRESS if required else default, **kw)
    parser.set_defaults(_config_cls=cls)
    return parser


def from_flags(cls: type, namespace: argparse.Namespace) -> Any:
    """The config `cls` built from parsed flags (its __post_init__ validates it)."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.init and f.metadata.get("cli", True) and hasattr(namespace, f.name):
            v = getattr(namespace, f.name)
            values[f.name] = tuple(v) if isinstance(v, list) and _is_tuple(cls, f.name) else v
    return cls(**values)


def _is_tuple(cls: type, name: str) -> bool:
    return typing.get_origin(_unwrap_optional(typing.get_type_hints(cls)[name])) is tuple


# -- checks shared by the configs' __post_init__ ---------------------------------------------------
_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)")


def check_device(device: str) -> None:
    """--device is auto, cpu, mps, cuda or cuda:N (whether it exists is checked when used)."""
    if not _DEVICE.fullmatch(str(device)):
        raise ValueError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {device!r}")


def check_positive(**values: float | int | None) -> None:
    """Each value (named by its flag, e.g. bs=32 -> --bs) must be > 0 and finite."""
    for name, v in values.items():
        if v is not None and not (math.isfinite(v) and v > 0):
            raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {v}")


def check_at_least(minimum: int, **values: int | None) -> None:
    """Each integer value must be >= minimum."""
    for name, v in values.items():
        if v is not None and v < minimum:
            raise ValueError(f"--{name.replace('_', '-')} must be >= {minimum}, got {v}")


def check_fraction(**values: float | None) -> None:
    """Each value must lie strictly between 0 and 1."""
    for name, v in values.items():
        if v is not None and not 0 < v < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1, got {v}")
