"""`lesson7 crappify SRC DST`: degraded copies of a folder of images (the lesson's crappify.py).

Exit code 0 when every image was written or skipped, 1 when some failed (each listed with its
reason on stderr; the good outputs are kept), 2 for bad flags. A summary is written to
`DST/crappify_report.json`.
"""

from __future__ import annotations

import sys

from lesson7.configs.crappify import CrappifyConfig
from lesson7.tasks import add_command


def register(subparsers) -> None:
    add_command(subparsers, "crappify", CrappifyConfig, run,
                "make degraded copies of images (LR inputs)")


def run(cfg: CrappifyConfig) -> int:
    from lesson7.data.crappify import crappify_images

    report = crappify_images(cfg)
    print(report.summary().splitlines()[0])
    for path, why in report.failed:
        print(f"FAILED {path}: {why}", file=sys.stderr)
    return 1 if report.failed else 0
