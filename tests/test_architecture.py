"""The package's shape: no import cycles, library code never imports the CLI, light commands
import no torch, and each config's names agree with the registry they check against."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lesson7"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> set[str]:
    """Every lesson7 module `path` imports, at module level or inside functions; imports under
    `if TYPE_CHECKING:` are type-only and skipped. `from pkg import name` counts as importing
    the submodule pkg.name when there is one, else pkg itself."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("lesson7")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lesson7"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in MODULES else node.module)
    return {m for m in found if m in MODULES}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _is_package_init_edge(a: str, b: str) -> bool:
    """A module importing its own package's __init__ (re-exports) is not a file cycle."""
    return MODULES[b].name == "__init__.py" and a.startswith(b + ".")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each back edge of a depth-first walk, as the cycle it closes."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_no_import_cycle_between_files():
    graph = {a: {b for b in bs if b != a and not _is_package_init_edge(a, b)}
             for a, bs in GRAPH.items()}
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    # The finder must fail on a real cycle (a guard that cannot fail guards nothing).
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f():\n    from lesson7.cli import main\n")
    assert _imports(a) == {"lesson7.cli"}
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lesson7.cli import main\n")
    assert _imports(b) == set()
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_library_never_imports_the_cli():
    offenders = sorted(name for name, deps in GRAPH.items()
                       if not (name.startswith("lesson7.tasks") or name == "lesson7.cli")
                       and any(d == "lesson7.cli" or d.startswith("lesson7.tasks") for d in deps))
    assert offenders == []


def test_configs_are_torch_free_by_construction():
    for name, deps in GRAPH.items():
        if name.startswith("lesson7.configs"):
            assert all(d.startswith(("lesson7.configs", "lesson7.data.degradations"))
                       or d in ("lesson7", "lesson7.data") for d in deps), (name, deps)


def _modules_loaded(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                          "print('LOADED:', *(m for m in ('torch', 'matplotlib', 'torchvision') "
                          "if m in sys.modules))"],
                         capture_output=True, text=True, check=True, cwd=ROOT.parent)
    return set(out.stdout.rsplit("LOADED:", 1)[1].split())


@pytest.mark.parametrize("argv", [["--help"], ["restore", "train", "--help"], ["gan", "--help"],
                                  ["crappify", "--help"], ["wgan", "--help"], ["demo", "--help"],
                                  ["report", "--help"],
                                  ["colorize", "--help"], ["colorize", "train", "--help"],
                                  ["colorize", "photo.jpg", "--help"]])
def test_help_imports_no_torch(argv):
    code = ("import contextlib, io\nfrom lesson7.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    try:\n        main({argv!r})\n    except SystemExit:\n        pass")
    assert _modules_loaded(code) == set()


def test_crappify_command_imports_no_torch(tmp_path):
    from PIL import Image

    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 48), (40 * i, 80, 120)).save(src / f"{i}.jpg")
    code = ("from lesson7.cli import main\n"
            f"assert main(['crappify', {str(src)!r}, {str(tmp_path / 'dst')!r}, '--workers', '1', "
            "'--no-progress']) == 0")
    assert _modules_loaded(code) == set()
    assert len(list((tmp_path / "dst").glob("*.jpg"))) == 3


def test_config_names_match_the_registries():
    from lesson7.configs import crappify, demo, mnist, numbers, restore
    from lesson7.data.crappify import CRAPPIFIERS
    from lesson7.data.degradations import BICUBIC_NAMES, DEGRADATIONS
    from lesson7.data.pairs import DEGRADE_SCALES
    from lesson7.demo import STAGES
    from lesson7.models.encoders import ENCODERS
    from lesson7.models.mnist import MNIST_MODELS
    from lesson7.text.train import RECIPES

    assert set(restore.ENCODER_NAMES) == set(ENCODERS)
    assert set(numbers.MODELS) == set(RECIPES)
    assert set(crappify.CRAPPIFY_MODES) == set(CRAPPIFIERS)
    assert {n: DEGRADATIONS[n].scale for n in BICUBIC_NAMES} == DEGRADE_SCALES
    assert set(mnist.LESSON_SCHEDULES) == set(MNIST_MODELS)
    assert tuple(demo.STAGES) == tuple(STAGES)
