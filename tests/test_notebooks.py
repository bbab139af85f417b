"""The lesson's notebooks: committed without outputs, in step with their sources, and each one
runs top to bottom on a CPU in its small mode (its own final cell asserts the lesson's behaviour).

Each notebook runs in a fresh kernel (nbclient) inside a temporary folder, with the package's
data folder pointed there too, so it needs nothing but the package: no ../shared, no network.
"""

from __future__ import annotations

import importlib.util
import os
import re
import resource
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"lesson7-resnet-mnist", "lesson7-superres", "lesson7-superres-gan", "lesson7-wgan",
            "lesson7-human-numbers", "colorize"}
# Whole-notebook limit, a safety net rather than a benchmark: the small modes are sized for a
# few minutes at most on 2 cores, and a shared CI machine can be several times slower.
# Override with $LESSON7_NOTEBOOK_TIMEOUT (seconds).
TIMEOUT_S = float(os.environ.get("LESSON7_NOTEBOOK_TIMEOUT", "600"))


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks",
                                                  ROOT / "scripts" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_of_the_lesson_is_there():
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_source(path):
    build = _builder()
    source = build.SRC / f"{path.stem}.py"
    assert source.is_file(), f"{path.name} has no source {source}"
    assert path.read_text(encoding="utf-8") == build.render(build.build(source)), (
        f"{path.name} is out of date: run python scripts/build_notebooks.py")


_PRIVATE = re.compile(r"(?:from\s+lesson7[\w.]*\s+import\s+[^\n]*\b_[a-z]\w*)|(?:lesson7(?:\.\w+)*\._[a-z])"
                      r"|(?:\w\._[a-z]\w*\()")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not _PRIVATE.search(code), f"{path.name} uses a private name: {_PRIVATE.search(code)[0]}"
    assert "subprocess" not in code and not re.search(r"^\s*[!%]", code, re.M), (
        f"{path.name} shells out; notebooks use the Python API")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "data"))  # the kernel inherits it
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=int(TIMEOUT_S), kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    cpu0, t0 = _children_cpu_s(), time.perf_counter()
    client.execute()  # a failing cell (e.g. a final check) raises CellExecutionError
    wall = time.perf_counter() - t0
    # The kernel is our child process: once it has exited, its CPU time is counted here, a
    # figure that depends far less on how busy the machine is than the wall time.
    print(f"{path.stem}: {wall:.1f} s wall, {_children_cpu_s() - cpu0:.1f} s CPU (kernel), "
          f"load {os.getloadavg()[0]:.1f}")
    assert wall < TIMEOUT_S, f"{path.name} took {wall:.0f} s (limit {TIMEOUT_S:.0f} s)"
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 2, f"{path.name} showed {images} pictures"
