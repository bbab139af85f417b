"""Build `notebooks/*.ipynb` from their sources in `notebooks/src/*.py`, without outputs.

A source is a Python file cut into cells by `# %%` lines (jupytext's "percent" format):
`# %% [markdown]` starts a Markdown cell whose lines drop their leading `# `, and
`# %% tags=["parameters"]` marks the parameter cell (papermill's convention). Editing the
source and rerunning this script keeps the notebooks reviewable as plain diffs;
`tests/test_notebooks.py` checks that the committed notebooks match their sources and carry no
outputs.

    python scripts/build_notebooks.py          # rewrite every notebook
    python scripts/build_notebooks.py --check  # exit 1 if one is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
_HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse_cells(text: str) -> list[nbformat.NotebookNode]:
    """The cells of one percent-format source."""
    cells: list[nbformat.NotebookNode] = []
    kind, tags, lines = None, [], []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cell.pop("id", None)  # ids are added per notebook below, stable across rebuilds
        cells.append(cell)

    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            flush()
            kind = "markdown" if m["md"] else "code"
            tags = json.loads(m["tags"]) if m["tags"] else []
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(source: Path) -> nbformat.NotebookNode:
    """One notebook, from `source`, with stable cell ids and no outputs."""
    nb = nbformat.v4.new_notebook()
    nb.cells = parse_cells(source.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{source.stem[:40]}-{i:02d}".replace("_", "-")
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SRC.glob("*.py")):
        target = OUT / f"{source.stem}.ipynb"
        text = render(build(source))
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if args.check and stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
