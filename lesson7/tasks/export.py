"""`lesson7 export RUN|shipped|shipped-x1 --onnx OUT.onnx`: a trained restorer as ONNX (dynamic N, H, W),
checked against PyTorch with onnxruntime. Needs the `export` extra: pip install 'lesson7[export]'.
"""

from __future__ import annotations

import sys

from lesson7.configs.export import ExportConfig
from lesson7.tasks import add_command


def register(subparsers) -> None:
    add_command(subparsers, "export", ExportConfig, run, "export a trained restorer to ONNX")


def run(cfg: ExportConfig) -> int:
    from lesson7.restore.export import MissingExportPackage, export_onnx

    try:
        r = export_onnx(cfg)
    except MissingExportPackage as e:  # an ImportError: cli.main reports ValueError/OSError only
        print(f"lesson7 export: error: {e}", file=sys.stderr)
        return 2
    checked = ("unchecked (--no-check)" if r["max_abs_diff"] is None
               else f"max |ONNX - PyTorch| {r['max_abs_diff']:.2g} on a batch at "
                    f"{r['check_size'][0]}x{r['check_size'][1]} px (onnxruntime)")
    print(f"wrote {r['onnx']} ({r['mb']} MB, opset {r['opset']}, x{r['upscale']}, dynamic "
          f"batch/height/width); {checked}")
    return 0
