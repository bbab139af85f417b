"""`lesson7 crappify SRC DST`: degraded copies of a folder of images (see `lesson7.data.crappify`).

Exit code 0 when every image was written or skipped, 1 when some failed (each listed with its
reason on stderr; the good outputs are kept), 2 for bad flags. A summary is written to
`DST/crappify_report.json`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lesson7.data.crappify import CRAPPIFIERS, crappify_folder, make_crappifier
from lesson7.train.checkpoint import atomic_write_json

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("crappify", help="make degraded copies of images (LR inputs)",
                              description=__doc__,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", type=Path, help="folder of original images (never written to)")
    p.add_argument("dst", type=Path, help="output folder (same relative paths and names)")
    p.add_argument("--mode", choices=sorted(CRAPPIFIERS), default="lesson",
                   help="lesson: resize + random JPEG quality stamped as text; superres: resize + "
                        "JPEG q60; real: blur/noise/resize/JPEG twice (Real-ESRGAN-like)")
    p.add_argument("--size", type=int, default=None,
                   help="short side of the output in px (default 96)")
    p.add_argument("--quality", type=int, nargs=2, metavar=("LO", "HI"), default=None,
                   help="JPEG quality range, inclusive (default: lesson 10 70, superres 60 60, "
                        "real 30 95)")
    p.add_argument("--no-text", action="store_true", help="lesson mode without the number")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--seed", type=int, default=None,
                   help="make the output reproducible (per file from seed and relative path)")
    p.add_argument("--overwrite", action="store_true", help="redo files that already exist")
    p.add_argument("--no-draft", action="store_true",
                   help="decode JPEGs at full size (slower; draft mode decodes at reduced scale)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    try:
        crappifier = make_crappifier(args.mode, args.size, args.quality,
                                     text=False if args.no_text else None)
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        report = crappify_folder(args.src, args.dst, crappifier, workers=args.workers,
                                 seed=args.seed, overwrite=args.overwrite,
                                 progress=not args.no_progress, draft=not args.no_draft)
    except ValueError as e:
        print(f"lesson7 crappify: error: {e}", file=sys.stderr)
        return 2
    atomic_write_json(Path(args.dst) / "crappify_report.json", {
        "mode": args.mode, "crappifier": repr(crappifier), "seed": args.seed,
        "written": len(report.written), "skipped": len(report.skipped),
        "failed": [{"path": str(p), "reason": why} for p, why in report.failed]})
    print(report.summary().splitlines()[0])
    if report.failed:
        for path, why in report.failed:
            print(f"FAILED {path}: {why}", file=sys.stderr)
        return 1
    return 0
