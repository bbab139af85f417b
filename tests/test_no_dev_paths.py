"""The installed package knows nothing of our development tree: no `../shared` paths, and no
citations of REFERENCE.md (an internal spec users never have). Cite the lesson notebook, the
paper or docs/ instead; weights are found through `lesson7.weights` ($LESSON7_WEIGHTS)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lesson7"
# "../shared" (a path), and the word REFERENCE ("REFERENCE §3.9", "REFERENCE.md", "REFERENCE B7").
DEV_PATH = re.compile(r"\.\./shared|\bREFERENCE\b")


def test_package_has_no_dev_paths_or_internal_spec_citations():
    hits = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for n, line in enumerate(text.splitlines(), 1):
            if DEV_PATH.search(line):
                hits.append(f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}")
    assert not hits, f"{len(hits)} lines:\n" + "\n".join(hits)
